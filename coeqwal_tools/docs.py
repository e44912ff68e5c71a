"""`make docs`: the dbt docs site (index.html, manifest.json, catalog.json) in
dbt's target folder (`target/`, or DBT_TARGET_PATH).

Serve it with `dbt docs serve --profiles-dir .` or any static file server over
that folder (the page fetches manifest.json and catalog.json, so file:// does
not work). Headless Chromium (Debian's `chromium`) renders it for the browser
test in tests/python/test_docs.py; `python -m coeqwal_tools.docs --install-browser`
installs it with apt-get when run as root, as `coeqwal db up` does PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ingest.build import run_dbt, target_path

BROWSER_PACKAGE = "chromium"
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class BrowserError(Exception):
    """No headless browser; the message says what to install."""


def find_browser() -> str | None:
    """A Chromium-family browser on PATH (COEQWAL_CHROMIUM names one explicitly)."""
    explicit = os.environ.get("COEQWAL_CHROMIUM")
    if explicit:
        return shutil.which(explicit)
    for name in BROWSER_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_browser() -> str:
    """The browser, installed with apt-get when missing and running as root."""
    found = find_browser()
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", BROWSER_PACKAGE]
        if subprocess.run(cmd, capture_output=True, env=env).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env)
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                tail = proc.stderr.strip()[-200:]
                raise BrowserError(f"apt-get install {BROWSER_PACKAGE} failed: {tail}")
        found = find_browser()
        if found:
            return found
    raise BrowserError(f"no headless browser: install {BROWSER_PACKAGE} (apt-get install chromium)")


def headless_command(
    browser: str, url: str, *, screenshot: Path | None = None, size=(1400, 900)
) -> list[str]:
    """Chromium rendering `url` (JavaScript run to completion within a virtual-time
    budget), printing the DOM, or writing a PNG screenshot."""
    cmd = [
        browser,
        "--headless",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        f"--window-size={size[0]},{size[1]}",
        "--virtual-time-budget=20000",
    ]
    if os.geteuid() == 0:
        cmd.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    cmd.append(f"--screenshot={screenshot}" if screenshot else "--dump-dom")
    return [*cmd, url]


def generate(target: Path | None = None) -> int:
    args = ["docs", "generate"]
    if target is not None:
        args += ["--target-path", str(target)]
    return run_dbt(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coeqwal_tools.docs", description=__doc__)
    parser.add_argument(
        "--install-browser", action="store_true", help="only make sure chromium is installed"
    )
    args = parser.parse_args(argv)
    if args.install_browser:
        try:
            print(f"headless browser: {ensure_browser()}")
        except BrowserError as exc:
            print(f"coeqwal: {exc}", file=sys.stderr)
            return 1
        return 0
    code = generate()
    if code == 0:
        print(f"docs site: {target_path() / 'index.html'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
