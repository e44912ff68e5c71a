"""Documentation: `dbt docs generate` runs against the built test database and its
catalog covers every model, seed and column, each with a description (the
descriptions are also persisted as Postgres comments, which PostgREST serves as
OpenAPI text). The site itself is served on loopback and rendered in headless
Chromium (Debian's `chromium`; skipped with the reason when it is absent): the
model tree and each model's lineage must render, and screenshots are saved
beside the site (`<DBT_TARGET_PATH>_docs/*.png`).

The written documentation, README.md and docs/*.md, read as files: the README
stays a front door of at most 150 lines linking every doc; every relative link
resolves to a file of the repository (and its #anchor to a heading), every
section one doc sends the reader to exists, every repository path named exists;
the API table covers every view of models/api and every function of macros/api
with the file defining it; the documented environment variables are read by
the code and docs/cli.md matches the `coeqwal` command's options; the figures
of docs/scaling.md's summary are reported elsewhere; no doc speaks of the
project's history or points outside the repository."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from coeqwal_tools.docs import find_browser, headless_command
from ingest.build import run_dbt, target_path
from tests.python.conftest import ROOT

pytestmark = pytest.mark.db


def docs_target():
    """The docs site's folder: beside dbt's target (DBT_TARGET_PATH), never shared."""
    base = target_path()
    return base.with_name(base.name + "_docs")


@pytest.fixture(scope="module")
def docs(warehouse, test_db):
    target = docs_target()
    assert run_dbt(["docs", "generate", "--target-path", str(target)], test_db, quiet=True) == 0
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    assert (target / "index.html").exists()
    return manifest, catalog


@pytest.fixture(scope="module")
def docs_site(docs):
    """The generated site served on loopback, as `dbt docs serve` would."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(docs_target()))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def _project_nodes(manifest, kinds=("model", "seed")):
    return {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in kinds and node["package_name"] == "coeqwal"
    }


def test_every_model_and_seed_is_in_the_catalog_and_described(docs):
    manifest, catalog = docs
    nodes = _project_nodes(manifest)
    assert len(nodes) >= 20
    missing = [uid for uid in nodes if uid not in catalog["nodes"]]
    assert not missing, f"not built / not in catalog: {missing}"
    undocumented = [uid for uid, node in nodes.items() if not node["description"].strip()]
    assert not undocumented, f"models/seeds without a description: {undocumented}"


def test_every_column_is_described(docs):
    manifest, catalog = docs
    problems = []
    for uid, node in _project_nodes(manifest).items():
        documented = {name.lower(): col for name, col in node["columns"].items()}
        for column in catalog["nodes"][uid]["columns"]:
            col = documented.get(column.lower())
            if col is None or not col["description"].strip():
                problems.append(f"{node['name']}.{column}")
    assert not problems, f"columns without a description: {problems}"


def test_descriptions_are_persisted_as_comments(docs, sql):
    rows = sql(
        "select obj_description('api.scenarios'::regclass), "
        "col_description('marts.dim_scenarios'::regclass, 1)"
    )
    assert rows[0][0] and "scenarios" in rows[0][0].lower()
    assert rows[0][1] and rows[0][1].startswith("Scenario identifier")


@pytest.fixture(scope="module")
def browser():
    path = find_browser()
    if path is None:
        pytest.skip(
            "no headless Chromium (python -m coeqwal_tools.docs --install-browser installs it)"
        )
    return path


def _rendered(browser, url: str) -> str:
    """The DOM after the page's JavaScript ran, without the inline templates."""
    proc = subprocess.run(
        headless_command(browser, url), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return re.sub(r"<script\b.*?</script>", "", proc.stdout, flags=re.S)


def test_docs_site_renders_model_list_and_lineage_in_chromium(docs, docs_site, browser):
    manifest, _ = docs
    model_uid = "model.coeqwal.fct_monthly_values"
    raw_page = (docs_target() / "index.html").read_text()
    assert "fct_monthly_values" not in raw_page  # so whatever shows it was rendered
    dom = _rendered(browser, f"{docs_site}#!/model/{model_uid}")

    # the model list: every project model is a node of the rendered navigation tree
    listed = set(re.findall(r'data-nav-unique-id="(model\.coeqwal\.\w+)"', dom))
    models = {uid for uid in _project_nodes(manifest, ("model",))}
    assert models <= listed, f"models missing from the rendered tree: {models - listed}"

    # the model page with its lineage: parents under "Depends On", children under
    # "Referenced By", as the manifest's graph says
    assert re.search(r'<span class="break ng-binding">fct_monthly_values</span>', dom)
    sections = {}
    for section in ("depends_on", "referenced_by"):
        start = dom.index(f'id="{section}"')
        end = dom.index("</reference-list>", start)
        sections[section] = set(
            re.findall(r'href="#!/model/(model\.coeqwal\.\w+)"', dom[start:end])
        )
    parents = {
        u for u in manifest["nodes"][model_uid]["depends_on"]["nodes"] if u.startswith("model.")
    }
    children = {u for u in manifest["child_map"][model_uid] if u.startswith("model.")}
    assert parents and sections["depends_on"] == parents
    assert children and sections["referenced_by"] == children


def test_docs_site_screenshots(docs, docs_site, browser):
    shots = {
        "docs_model_page.png": f"{docs_site}#!/model/model.coeqwal.fct_monthly_values",
        # the lineage graph of api.pipeline_status (selector +api_pipeline_status+)
        "docs_lineage_graph.png": (
            f"{docs_site}#!/model/model.coeqwal.api_pipeline_status?g_v=1&g_i=%2Bapi_pipeline_status%2B"
        ),
    }
    for name, url in shots.items():
        path = docs_target() / name
        path.unlink(missing_ok=True)
        proc = subprocess.run(
            headless_command(browser, url, screenshot=path),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == (1400, 900)
        assert len(data) > 20_000, f"{name}: {len(data)} bytes, an empty page?"


# --- README.md and docs/*.md -------------------------------------------------------------
# The README is the front door (what the product is, how to run it, load a scenario,
# call the API, configure it, audit it, where things live); everything else is in
# docs/. These checks read the files only.

README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 150


def _markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _headings(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return [m.group(1).strip() for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)]


def _links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_readme_is_at_most_150_lines_and_links_every_doc():
    lines = README.read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"
    docs = sorted(DOCS.glob("*.md"))
    assert {"design.md", "domain.md", "operations.md", "scaling.md"} <= {p.name for p in docs}
    linked = {link.split("#")[0] for link in _links(README)}
    missing = [f"docs/{p.name}" for p in docs if f"docs/{p.name}" not in linked]
    assert not missing, f"docs the README does not link: {missing}"
    text = README.read_text()
    for needed in ("make run", "make test", "coeqwal audit", "s3://", "--manifest"):
        assert needed in text, needed


def test_every_relative_link_resolves_to_a_file_of_the_repository():
    checked = 0
    for path in _markdown_files():
        for link in _links(path):
            if re.match(r"[a-z][a-z0-9+.-]*:", link):  # https:, mailto:
                continue
            target, _, anchor = link.partition("#")
            resolved = (path.parent / target).resolve() if target else path
            where = f"{path.relative_to(ROOT)}: ({link})"
            assert resolved.is_relative_to(ROOT), f"{where} points outside the repository"
            assert resolved.exists(), f"{where} does not exist"
            if anchor:
                assert resolved.suffix == ".md", where
                slugs = {_slug(h) for h in _headings(resolved)}
                assert anchor in slugs, f"{where}: no such heading ({sorted(slugs)})"
            checked += 1
    assert checked >= 20, checked


def test_named_sections_of_other_docs_exist():
    """`[operations.md](operations.md), "What clients see during a build"`: the
    section a doc sends the reader to is a heading of that doc (or starts one)."""
    refs = 0
    for path in _markdown_files():
        text = " ".join(path.read_text().split())
        for name, section in re.findall(r"([\w-]+\.md)\)?,\s*\"([^\"]+)\"", text):
            target = DOCS / name if path.parent == DOCS else ROOT / name
            if not target.exists():
                target = DOCS / name
            headings = _headings(target)
            assert any(h.startswith(section) for h in headings), (
                f"{path.name} refers to {name}, section {section!r}: not among {headings}"
            )
            refs += 1
    assert refs >= 5, refs


def test_readme_says_where_formulas_parameters_and_proofs_live():
    text = README.read_text()
    assert "macros/statistics/formulas.sql" in text
    assert (ROOT / "macros" / "statistics" / "formulas.sql").is_file()
    assert "`seeds/`" in text and "hash of the parameters" in text
    assert "`_<dir>__unit_tests.yml`" in text and "tests/python" in text
    unit_tests = sorted((ROOT / "models").rglob("_*__unit_tests.yml"))
    assert len(unit_tests) >= 3
    for path in unit_tests:  # beside the models they test
        assert any(path.parent.glob("*.sql")), f"{path}: not next to models"


def test_readme_api_table_names_every_endpoint_and_the_file_defining_it():
    """Every view of models/api and every function of macros/api has a row in the
    README's endpoint table (test_api.py checks the same against the built
    database); each /rpc/ row names the macro file that defines it."""
    rows: dict[str, list[str]] = {}
    for line in README.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = (
            re.fullmatch(r"`(rpc/)?([a-z_]+)`( \(map\))?", cells[0]) if len(cells) == 3 else None
        )
        if match:
            rows.setdefault((match[1] or "") + match[2], []).append(cells[1])
    views = {p.stem.removeprefix("api_") for p in (ROOT / "models" / "api").glob("api_*.sql")}
    functions = {p.stem.removeprefix("rpc_") for p in (ROOT / "macros" / "api").glob("rpc_*.sql")}
    assert len(views) >= 13 and len(functions) >= 3
    assert views <= set(rows), sorted(views - set(rows))
    for name in functions:
        assert f"rpc/{name}" in rows, name
        request = rows[f"rpc/{name}"][0]
        assert f"GET /api/v1/rpc/{name}" in request
        assert f"`macros/api/rpc_{name}.sql`" in request, request
    assert not {r for r in rows if not r.startswith("rpc/")} - views, "rows without a view"


def test_paths_named_in_the_docs_exist():
    """Repository paths written in the README and docs (`macros/tiers.sql`,
    `seeds/statistics/`, `infra/docker/etl_task.sh`, ...) exist."""
    pattern = re.compile(
        r"(?<![\w./<-])((?:ingest|coeqwal_tools|models|macros|seeds|tests|infra|docs|\.github)"
        r"/[\w./-]*[\w/])(?![\w<.-])"  # not a placeholder such as api_<name>.sql
    )
    to_create = {"infra/docker/.env"}  # the docs tell the user to write it
    missing = []
    for path in _markdown_files():
        for found in set(pattern.findall(path.read_text())):
            if found not in to_create and not (ROOT / found.rstrip("/")).exists():
                missing.append(f"{path.relative_to(ROOT)}: {found}")
    assert not missing, missing


def test_docs_describe_the_product_not_its_history():
    patterns = {
        "a development ticket": r"\bissues? #?\d+",
        "the project's history": r"\bwe (?:changed|moved|added|removed|fixed|rewrote)\b",
        "a folder outside the repository": r"\.\./shared/docs",
    }
    for path in _markdown_files():
        text = path.read_text()
        for what, pattern in patterns.items():
            found = re.search(pattern, text, re.I)
            assert not found, f"{path.relative_to(ROOT)} mentions {what}: {found.group(0)!r}"


def _environment_tables() -> list[tuple[Path, str]]:
    rows = []
    for path, heading in ((README, "## Configuration"), (DOCS / "cli.md", "## Environment")):
        section = path.read_text().split(heading, 1)[1].split("\n## ", 1)[0]
        for line in section.splitlines():
            if line.startswith("| `"):
                rows += [
                    (path, name) for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])
                ]
    return rows


def test_documented_environment_variables_are_read_by_the_code():
    sources = " ".join(
        p.read_text(errors="replace")
        for folder in ("ingest", "coeqwal_tools", "tests/python", "infra/docker")
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and p.suffix in {".py", ".sh", ".yml", ""}
    )
    sources += (ROOT / "profiles.example.yml").read_text() + (ROOT / "Makefile").read_text()
    names = _environment_tables()
    assert len(names) >= 15, names
    for path, name in names:
        if name.startswith("AWS_"):  # read by boto3, the standard credential chain
            continue
        assert re.search(rf"\b{name}\b", sources), f"{path.name}: {name} is read nowhere"
    readme = {name for path, name in names if path == README}
    everything = {name for path, name in names if path != README}
    assert readme <= everything, f"README variables missing from docs/cli.md: {readme - everything}"


def _subcommands(parser) -> dict:
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def test_cli_reference_matches_the_command():
    """docs/cli.md lists every `coeqwal` subcommand with every option it takes,
    and nothing the command does not take."""
    from ingest.cli import parser

    block = (DOCS / "cli.md").read_text().split("```", 2)[1]
    documented: dict[str, set[str]] = {}
    command = None
    for line in block.splitlines():
        if line.startswith("coeqwal "):
            words = line.split()
            command = words[1] + (f" {words[2]}" if words[1] in ("ingest",) else "")
            documented.setdefault(command, set())
        if command:
            usage = line.split("  ")[0] if line.startswith("coeqwal ") else ""
            documented[command] |= set(re.findall(r"--[a-z-]+", usage))
    actual: dict[str, set[str]] = {}
    for name, sub in _subcommands(parser()).items():
        nested = _subcommands(sub)
        for full, command_parser in (
            {f"{name} {k}": v for k, v in nested.items()} or {name: sub}
        ).items():
            actual[full] = {
                option
                for action in command_parser._actions
                for option in action.option_strings
                if option.startswith("--") and option != "--help"
            }
    assert set(documented) == set(actual), (sorted(documented), sorted(actual))
    for command, options in actual.items():
        assert documented[command] == options, (command, documented[command], options)


def test_scaling_summary_figures_are_reported_in_the_docs():
    """The figures of docs/scaling.md's summary ("What one server does") are the
    ones measured and reported elsewhere in the documentation, none invented:
    each appears in the README or in a doc outside that summary."""
    scaling = DOCS / "scaling.md"
    text = scaling.read_text()
    head, section = text.split("## What one server does", 1)
    section, rest = section.split("\n## ", 1)
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    sources = (
        " ".join(" ".join(p.read_text().split()) for p in _markdown_files() if p != scaling)
        + " "
        + " ".join((head + rest).split())
    )
    figures = []
    for row in rows[1:]:  # the header row names the columns
        figures += re.findall(r"\d+(?:[.,]\d+)*(?:-\d+)?", row.split("|")[2])
    assert len(figures) >= 8, figures
    for figure in figures:
        assert re.search(rf"(?<![\d.,]){re.escape(figure)}(?![\d.,]\d)", sources), (
            f"scaling.md's summary reports {figure}, which no other section or doc reports"
        )
