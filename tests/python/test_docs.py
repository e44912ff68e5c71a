"""Documentation: `dbt docs generate` runs against the built test database and its
catalog covers every model, seed and column, each with a description (the
descriptions are also persisted as Postgres comments, which PostgREST serves as
OpenAPI text)."""

from __future__ import annotations

import json

import pytest

from ingest.build import run_dbt
from tests.python.conftest import ROOT

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def docs(warehouse, test_db):
    target = ROOT / "target_docs_test"
    assert run_dbt(["docs", "generate", "--target-path", str(target)], test_db, quiet=True) == 0
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    assert (target / "index.html").exists()
    return manifest, catalog


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
