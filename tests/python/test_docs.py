"""Documentation: `dbt docs generate` runs against the built test database and its
catalog covers every model, seed and column, each with a description (the
descriptions are also persisted as Postgres comments, which PostgREST serves as
OpenAPI text). The site itself is served on loopback and rendered in headless
Chromium (Debian's `chromium`; skipped with the reason when it is absent): the
model tree and each model's lineage must render, and screenshots are saved
beside the site (`<DBT_TARGET_PATH>_docs/*.png`)."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ingest.build import run_dbt, target_path
from ingest.docs import find_browser, headless_command

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
        pytest.skip("no headless Chromium (python -m ingest.docs --install-browser installs it)")
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
