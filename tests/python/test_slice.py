"""The thin slice end to end on the real embedded database: the three sample
scenarios go through the real CLI (dlt into raw_dss), `coeqwal build` runs dbt
(seed + build, with its tests), and api.scenarios is readable as web_anon while
nothing else is.

Expected counts come from an independent read of the sample files' catalogs
with pydsstools, not from the loader.
"""

from __future__ import annotations

import pytest

from ingest.dss.hecdss import open_dss
from tests.python.conftest import coeqwal

pytestmark = pytest.mark.db


def catalog_series(path) -> set[str]:
    """Distinct (B, C) of the monthly records in a file, read with pydsstools alone."""
    with open_dss(str(path)) as fid:
        paths = fid.search_path()
    out = set()
    for p in paths:
        parts = p.split("/")
        if parts[5].upper() in ("1MON", "1MONTH"):
            out.add(f"{parts[2].upper()}/{parts[3].upper()}")
    return out


@pytest.fixture(scope="module")
def loaded(warehouse):
    return warehouse


def test_raw_rows_match_the_files(loaded, sql):
    for scenario_id, path in loaded.items():
        expected = catalog_series(path)
        assert len(expected) > 50
        rows = sql(
            "select upper(b_part) || '/' || upper(c_part), month_count, start_month "
            "from raw_dss.dss_series where scenario_id = %s",
            (scenario_id,),
        )
        assert {r[0] for r in rows} == expected
        assert {r[1] for r in rows} == {1200}
        assert {str(r[2]) for r in rows} == {"1921-10-01"}


def test_api_scenarios_as_web_anon(loaded, sql):
    rows = sql(
        """
        begin;
        set local role web_anon;
        select json_agg(s order by scenario_id)::text from (
            select scenario_id, series_count, value_count, is_loaded
            from api.scenarios where is_loaded
        ) s;
        """
    )
    import json

    data = json.loads(rows[0][0])
    assert [d["scenario_id"] for d in data] == sorted(loaded)
    for d in data:
        n = len(catalog_series(loaded[d["scenario_id"]]))
        assert d["series_count"] == n
        assert d["value_count"] == n * 1200


@pytest.mark.parametrize(
    "relation",
    ["raw_dss.dss_series", "staging.stg_dss__series", "marts.dim_scenarios", "seeds.scenarios",
     "ops.ingest_runs"],
)  # fmt: skip
def test_web_anon_cannot_read_outside_api(loaded, sql, relation):
    import psycopg2

    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        sql(f"begin; set local role web_anon; select count(*) from {relation};")


def test_web_anon_cannot_write(loaded, sql):
    import psycopg2

    with pytest.raises(psycopg2.Error):
        sql("begin; set local role web_anon; delete from api.scenarios;")


def test_reingest_replaces_and_changes_nothing(loaded, sql):
    scenario_id, path = next(iter(loaded.items()))
    checksum = (
        "select count(*), md5(string_agg(series_path || coalesce(monthly_values_f4::double precision[], monthly_values_f8)::text, ',' order by series_path))"
        " from raw_dss.dss_series where scenario_id = %s"
    )
    before = sql(checksum, (scenario_id,))
    others_before = sql(
        "select count(*) from raw_dss.dss_series where scenario_id <> %s", (scenario_id,)
    )
    coeqwal("ingest", "dss", "--scenario", scenario_id, "--force", str(path))
    assert sql(checksum, (scenario_id,)) == before
    assert (
        sql("select count(*) from raw_dss.dss_series where scenario_id <> %s", (scenario_id,))
        == others_before
    )
    runs = sql(
        "select status, series_read from ops.ingest_runs where scenario_id = %s order by run_id",
        (scenario_id,),
    )
    assert [r[0] for r in runs] == ["succeeded", "succeeded"]
    assert runs[0][1] == before[0][0]


def test_unknown_scenario_is_refused_with_one_line(loaded, sql):
    path = next(iter(loaded.values()))
    before = sql("select count(*) from raw_dss.dss_series")
    proc = coeqwal("ingest", "dss", "--scenario", "s9999", str(path), check=False)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "s9999" in lines[0] and "scenarios seed" in lines[0]
    assert sql("select count(*) from raw_dss.dss_series") == before
    assert sql("select count(*) from raw_dss.dss_series where scenario_id = 's9999'") == [(0,)]
    assert sql(
        "select status from ops.ingest_runs where scenario_id = 's9999' order by run_id desc limit 1"
    ) == [("failed",)]
