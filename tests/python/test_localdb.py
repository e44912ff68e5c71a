"""The embedded PostgreSQL lifecycle through the real CLI: up, up again, status,
url, down, and up after the postmaster was killed (stale pid file).

Each test gets its own cluster folder and port so the shared cluster used by the
other tests is never disturbed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import time
import uuid
from pathlib import Path

import psycopg2
import pytest

from tests.python.conftest import ROOT, coeqwal

pytestmark = pytest.mark.db

if os.environ.get("COEQWAL_DATABASE_URL"):
    pytest.skip("COEQWAL_DATABASE_URL is set: no embedded cluster", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def private_home():
    # Under the project (not /tmp/pytest-of-root, which the postgres user cannot
    # traverse when the tests run as root).
    home = ROOT / ".coeqwal" / "test-homes" / uuid.uuid4().hex[:8]
    home.mkdir(parents=True)
    env = {"COEQWAL_HOME": str(home), "COEQWAL_PG_PORT": str(_free_port())}
    env.pop("COEQWAL_DATABASE", None)
    yield home, env
    coeqwal("db", "down", env=env, check=False)
    shutil.rmtree(home, ignore_errors=True)


def _pidfile(up_stdout: str) -> Path:
    """The cluster's postmaster.pid, found where `coeqwal db up` says the data is
    (under the project, or elsewhere when the postgres user cannot reach it)."""
    match = re.search(r"\(data in (.+)\)", up_stdout)
    assert match, up_stdout
    return Path(match[1]) / "postmaster.pid"


def _select_one(url: str) -> int:
    conn = psycopg2.connect(url, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select postgis_version() is not null, current_setting('server_version_num')"
            )
            has_postgis, version = cur.fetchone()
        assert has_postgis
        return int(version)
    finally:
        conn.close()


def test_up_twice_status_url_down(private_home):
    _, env = private_home
    env = {**env, "COEQWAL_DATABASE": "coeqwal"}
    first = coeqwal("db", "up", env=env)
    assert f"port {env['COEQWAL_PG_PORT']}" in first.stdout
    url = coeqwal("db", "url", env=env).stdout.strip()
    assert url.startswith("postgresql://coeqwal:") and f":{env['COEQWAL_PG_PORT']}/" in url
    assert _select_one(url) >= 150000

    pidfile = _pidfile(first.stdout)
    pid_before = pidfile.read_text().splitlines()[0]
    again = coeqwal("db", "up", env=env)  # harmless: same server, same pid
    assert again.returncode == 0
    assert _pidfile(again.stdout) == pidfile
    assert pidfile.read_text().splitlines()[0] == pid_before

    status = coeqwal("db", "status", env=env)
    assert "running" in status.stdout and pid_before in status.stdout

    # password auth: a wrong password is refused
    bad = url.replace(url.split(":")[2].split("@")[0], "wrong-password")
    with pytest.raises(psycopg2.OperationalError, match="password"):
        psycopg2.connect(bad, connect_timeout=5)

    down = coeqwal("db", "down", env=env)
    assert "stopped" in down.stdout
    assert coeqwal("db", "status", env=env, check=False).returncode != 0
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(url, connect_timeout=3)


def test_up_recovers_after_killed_postmaster(private_home):
    _, env = private_home
    pidfile = _pidfile(coeqwal("db", "up", env=env).stdout)
    pid = int(pidfile.read_text().splitlines()[0])
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait until the old server stops listening
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", int(env["COEQWAL_PG_PORT"]))) != 0:
                break
        time.sleep(0.2)
    assert pidfile.exists(), "the kill should leave a stale pid file behind"

    coeqwal("db", "up", env=env)
    new_pid = int(pidfile.read_text().splitlines()[0])
    assert new_pid != pid
    _select_one(coeqwal("db", "url", env=env).stdout.strip())


def test_external_url_replaces_embedded(private_home):
    home, env = private_home
    coeqwal("db", "up", env=env)
    url = coeqwal("db", "url", env=env).stdout.strip()
    external = {**env, "COEQWAL_DATABASE_URL": url, "COEQWAL_HOME": str(home / "elsewhere")}
    assert coeqwal("db", "url", env=external).stdout.strip() == url
    status = coeqwal("db", "status", env=external)
    assert "external database" in status.stdout and "***" in status.stdout
    assert not (home / "elsewhere" / ".coeqwal").exists()


def test_unreachable_external_url_fails_with_one_line(private_home):
    _, env = private_home
    port = _free_port()
    bad = {**env, "COEQWAL_DATABASE_URL": f"postgresql://u:p@127.0.0.1:{port}/x"}
    for action in ("up", "status"):
        proc = coeqwal("db", action, env=bad, check=False)
        assert proc.returncode != 0, action
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("coeqwal: "), proc.stderr
        assert "Traceback" not in proc.stderr
        assert "p@" not in proc.stderr, "the password must not be printed"
    assert "does not answer" in proc.stderr and f"127.0.0.1:{port}" in proc.stderr


def test_missing_postgis_message_names_package(monkeypatch, tmp_path):
    """Non-root users get the exact package name instead of an install attempt."""
    from coeqwal_tools import localdb

    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "pg_config").write_text(f"#!/bin/sh\necho {tmp_path}/share\n")
    (fake_bin / "pg_config").chmod(0o755)
    monkeypatch.setattr(localdb, "_is_root", lambda: False)
    with pytest.raises(localdb.DatabaseError, match="postgresql-15-postgis-3"):
        localdb.ensure_postgis(Path(fake_bin))


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="exercises the root-only code paths")


@needs_root
def test_project_folder_unreachable_by_postgres_user(tmp_path_factory):
    """As root in a folder the postgres user cannot enter (e.g. under /root), the
    cluster is placed under /var/lib/coeqwal and found again through a pointer."""
    home = Path("/root") / f".coeqwal-test-{uuid.uuid4().hex[:8]}"
    home.mkdir(mode=0o700)
    env = {"COEQWAL_HOME": str(home), "COEQWAL_PG_PORT": str(_free_port())}
    try:
        coeqwal("db", "up", env=env)
        pointer = home / ".coeqwal" / "pg-location"
        assert pointer.exists()
        outside = Path(pointer.read_text().strip())
        assert outside.is_relative_to("/var/lib/coeqwal") and (outside / "data").is_dir()
        _select_one(coeqwal("db", "url", env=env).stdout.strip())
        coeqwal("db", "up", env=env)  # found again, same cluster
        assert pointer.read_text().strip() == str(outside)
    finally:
        coeqwal("db", "down", env=env, check=False)
        pointer = home / ".coeqwal" / "pg-location"
        if pointer.exists():
            shutil.rmtree(pointer.read_text().strip(), ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


@needs_root
def test_works_as_a_non_root_user():
    """The same CLI run by an ordinary user starts the cluster as that user (no runuser)."""
    import subprocess
    import sys

    python = Path(sys.executable).resolve()
    if subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(python)]).returncode:
        pytest.skip(f"the postgres user cannot execute this interpreter ({python})")
    home = Path("/tmp") / f"coeqwal-nonroot-{uuid.uuid4().hex[:8]}"
    home.mkdir()
    shutil.chown(home, "postgres", "postgres")
    env = {
        **os.environ,
        "COEQWAL_HOME": str(home),
        "COEQWAL_PG_PORT": str(_free_port()),
        "HOME": str(home),
    }
    exe = str(Path(sys.executable).parent / "coeqwal")

    def as_user(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", exe, *args],
            env=env, capture_output=True, text=True, timeout=120, cwd=home,
        )  # fmt: skip

    try:
        up = as_user("db", "up")
        assert up.returncode == 0, up.stderr
        data = home / ".coeqwal" / "pg" / "data"
        assert data.stat().st_uid == int(subprocess.check_output(["id", "-u", "postgres"]))
        _select_one(as_user("db", "url").stdout.strip())
        assert as_user("db", "down").returncode == 0
    finally:
        as_user("db", "down")
        shutil.rmtree(home, ignore_errors=True)
