"""Coverage of the reservoir, delivery and Delta statistics
(marts.fct_statistics_coverage, served as /statistics_coverage): a scenario
whose file lacks a family's series gets rows that say so instead of nothing.

The real CalSim II file (post-processor series such as `D419_SWP_DTS`, none
of the inputs of these families) is loaded as an EXTRA scenario, s0021, into
a database of its own that already serves two sample scenarios (s0020 and
s0044), through the CLI; `coeqwal build` must succeed and leave the sample
scenarios' coverage as it was.

The expected rows are computed here, independently of the warehouse: the
series each file holds are listed from the DSS files themselves with
pydsstools (regular monthly records, `B/C` in upper case), and what each
entity needs is read from the seed CSVs by the rules the mart documents — a
reservoir needs its storage, its top-of-conservation level (when the seed
names one) and its flood release (when reservoir_flood_releases lists one),
never its dead-pool level (dead_pool_taf stands in); a delivery aggregate its
delivery and shortage; a demand unit every delivery arc and its demand or its
shortage series; a Delta series itself. Whether an entity is computed is
derived from what the marts compute with a full run (1,200 months, so every
delivery has complete years): a reservoir with its storage or its flood
release, a delivery with every requirement met, a Delta series when loaded;
and its metrics: storage, storage_pct_capacity (capacity > 0) and dead_pool
with the storage, flood_pool with the storage and the level, spill with the
flood release.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingest.dss.hecdss import open_dss
from tests.python.conftest import ROOT, TEST_DATABASE, coeqwal, fresh_database, sql_runner
from tests.python.test_api import Pgrst

pytestmark = pytest.mark.db

DATABASE = f"{TEST_DATABASE}_coverage_real"
REAL_FILE = Path("dss") / "calsim2_postproc_v7.dss"
SAMPLES = ("s0020", "s0044")
REAL = "s0021"
DELTA_METRICS = {"outflow": "outflow", "x2": "x2_position", "salinity": "salinity"}
DELIVERY_METRICS = ["delivery", "demand", "percent_demand_met", "shortage"]
COLUMNS = (
    "scenario_id",
    "family",
    "entity_code",
    "entity_type",
    "is_computed",
    "computed_metrics",
    "input_variable_keys",
    "missing_inputs",
    "reason",
)


# ----------------------------------------------------------------------------- expectations


def seed(relative: str) -> list[dict[str, str]]:
    with open(ROOT / "seeds" / relative, newline="") as f:
        return list(csv.DictReader(f))


def file_series(path: Path) -> set[str]:
    """The `B/C` keys (upper case) of the regular monthly series of a DSS file."""
    with open_dss(str(path)) as fid:
        pathnames = fid.search_path("")
    return {
        f"{p.split('/')[2].upper()}/{p.split('/')[3].upper()}"
        for p in pathnames
        if p.split("/")[5].upper() in ("1MON", "1MONTH")
    }


def requirements() -> dict[tuple[str, str], dict]:
    """Per (family, entity): its type, its requirements in reason order (each
    a list of series, met by any one) and every series it reads."""
    out: dict[tuple[str, str], dict] = {}
    releases = {
        r["reservoir_code"]: f"{r['b_part']}/{r['c_part']}"
        for r in seed("statistics/reservoir_flood_releases.csv")
    }
    for r in seed("entities/reservoirs.csv"):
        code = r["reservoir_code"]
        storage = f"{r['storage_b_part']}/STORAGE"
        level = dead = None
        if r["flood_pool_level_b_part"]:
            level = f"{r['flood_pool_level_b_part']}/STORAGE-LEVEL"
        if r["dead_pool_level_b_part"]:
            dead = f"{r['dead_pool_level_b_part']}/STORAGE-LEVEL"
        groups = [[storage]]
        if level:
            groups.append([level])
        if code in releases:
            groups.append([releases[code]])
        out[("reservoir", code)] = {
            "type": "reservoir",
            "groups": groups,
            "reads": {k for g in groups for k in g} | ({dead} if dead else set()),
            "storage": storage,
            "level": level,
            "release": releases.get(code),
            "capacity": float(r["capacity_taf"]),
        }
    for r in seed("entities/delivery_aggregates.csv"):
        groups = [
            [f"{r['delivery_b_part']}/{r['delivery_c_part']}"],
            [f"{r['shortage_b_part']}/{r['shortage_c_part']}"],
        ]
        out[("delivery", r["aggregate_code"])] = {
            "type": "delivery_aggregate",
            "groups": groups,
            "reads": {k for g in groups for k in g},
        }
    units: dict[str, dict[str, list[str]]] = {}
    for r in seed("entities/demand_unit_series.csv"):
        roles = units.setdefault(r["du_code"], {"delivery": [], "demand": [], "shortage": []})
        roles[r["series_role"]].append(f"{r['b_part']}/{r['c_part']}")
    for code, roles in units.items():
        groups = [[k] for k in sorted(roles["delivery"])]
        groups.append(roles["demand"] + roles["shortage"])
        out[("delivery", code)] = {
            "type": "demand_unit",
            "groups": groups,
            "reads": {k for g in groups for k in g},
        }
    for r in seed("statistics/delta_series.csv"):
        key = f"{r['b_part']}/{r['c_part']}"
        out[("delta", r["series_code"])] = {"type": r["role"], "groups": [[key]], "reads": {key}}
    return out


def expected_rows(scenario_id: str, loaded: set[str]) -> dict[tuple[str, str], dict]:
    """The coverage rows of one scenario whose file holds the series `loaded`."""
    rows = {}
    for (family, code), entity in requirements().items():
        unmet = [g for g in entity["groups"] if not set(g) & loaded]
        if family == "reservoir":
            has_storage = entity["storage"] in loaded
            metrics = []
            if has_storage:
                metrics += ["dead_pool", "storage"]
                metrics += ["storage_pct_capacity"] if entity["capacity"] > 0 else []
                metrics += ["flood_pool"] if entity["level"] in loaded else []
            metrics += ["spill"] if entity["release"] in loaded else []
        elif family == "delivery":
            metrics = [] if unmet else list(DELIVERY_METRICS)
        else:
            metrics = [] if unmet else [DELTA_METRICS[entity["type"]]]
        computed = bool(metrics)
        reason = None
        if not computed:
            word = "input" if len(unmet) == 1 else "inputs"
            reason = f"missing {word} " + ", ".join(" or ".join(g) for g in unmet)
        rows[(family, code)] = {
            "scenario_id": scenario_id,
            "family": family,
            "entity_code": code,
            "entity_type": entity["type"],
            "is_computed": computed,
            "computed_metrics": sorted(metrics),
            "input_variable_keys": sorted(entity["reads"]),
            "missing_inputs": sorted({k for g in unmet for k in g}),
            "reason": reason,
        }
    return rows


def read_coverage(sql, scenario_id: str) -> dict[tuple[str, str], dict]:
    rows = sql(
        f"select {', '.join(COLUMNS)} from marts.fct_statistics_coverage where scenario_id = %s",
        (scenario_id,),
    )
    return {(r[1], r[2]): dict(zip(COLUMNS, r, strict=True)) for r in rows}


def mart_entities(sql, scenario_id: str) -> set[tuple[str, str]]:
    """The (family, entity) pairs the three statistics marts have rows for."""
    rows = sql(
        "select distinct 'reservoir', reservoir_code from marts.fct_reservoir_statistics"
        " where scenario_id = %(s)s"
        " union all select distinct 'delivery', delivery_code from marts.fct_delivery_statistics"
        " where scenario_id = %(s)s"
        " union all select distinct 'delta', series_code from marts.fct_delta_statistics"
        " where scenario_id = %(s)s",
        {"s": scenario_id},
    )
    return {(r[0], r[1]) for r in rows}


# ----------------------------------------------------------------------------- fixture


@pytest.fixture(scope="module")
def coverage(test_db, shared_data, sample_files) -> dict:
    """Two sample scenarios built, their coverage read, then the real CalSim II
    file loaded as s0021 and built again (without raising: the test asserts
    the exit status)."""
    url = fresh_database(test_db, DATABASE)
    env = {"COEQWAL_DATABASE": DATABASE}
    sql = sql_runner(url.url())
    for scenario_id in SAMPLES:
        coeqwal("ingest", "dss", "--scenario", scenario_id, str(sample_files[scenario_id]), env=env)
    coeqwal("build", env=env)
    before = {s: read_coverage(sql, s) for s in SAMPLES}
    path = Path(shared_data) / REAL_FILE
    coeqwal("ingest", "dss", "--scenario", REAL, str(path), env=env)
    build = coeqwal("build", env=env, check=False)
    loaded = {s: file_series(sample_files[s]) for s in SAMPLES}
    loaded[REAL] = file_series(path)
    return {"build": build, "sql": sql, "url": url, "before": before, "loaded": loaded}


def built(coverage) -> None:
    build = coverage["build"]
    assert build.returncode == 0, (build.stdout + build.stderr)[-3000:]


# ----------------------------------------------------------------------------- tests


def test_real_file_without_inputs_gets_rows_that_say_what_is_missing(coverage):
    built(coverage)
    sql, loaded = coverage["sql"], coverage["loaded"][REAL]
    assert len(loaded) == 162
    # the warehouse holds the file's series, and the marts nothing for it
    warehouse = {
        r[0]
        for r in sql(
            "select upper(b_part) || '/' || upper(c_part) from raw_dss.dss_series"
            " where scenario_id = %s",
            (REAL,),
        )
    }
    assert warehouse == loaded
    assert mart_entities(sql, REAL) == set()
    expected = expected_rows(REAL, loaded)
    assert all(not row["is_computed"] and row["missing_inputs"] for row in expected.values())
    got = read_coverage(sql, REAL)
    assert got == expected
    sizes = {
        family: sum(1 for f, _ in expected if f == family)
        for family in ("reservoir", "delivery", "delta")
    }
    assert sizes == {"reservoir": 91, "delivery": 9 + 69, "delta": 4}
    # the wording, written out by hand
    assert got[("reservoir", "ALMNR")]["reason"] == "missing input S_ALMNR/STORAGE"
    assert got[("reservoir", "SHSTA")]["reason"] == (
        "missing inputs S_SHSTA/STORAGE, S_SHSTALEVEL5DV/STORAGE-LEVEL, C_SHSTA_FLOOD/CHANNEL"
    )
    assert got[("reservoir", "SHSTA")]["missing_inputs"] == [
        "C_SHSTA_FLOOD/CHANNEL",
        "S_SHSTA/STORAGE",
        "S_SHSTALEVEL5DV/STORAGE-LEVEL",
    ]
    assert got[("delivery", "02_PU")]["reason"] == (
        "missing inputs DL_02_PU/DELIVERY, UD_02_PU/DEMAND or SHRTG_02_PU/DELIVERY-SHORTAGE"
    )
    assert got[("delivery", "SWP_PMI")]["reason"] == (
        "missing inputs DEL_SWP_PMI/DELIVERY-SWP, SHORT_SWP_PMI/DELIVERY-SHORTAGE-SWP"
    )
    assert got[("delta", "NDOI")]["reason"] == "missing input NDOI/FLOW"


def test_sample_scenarios_are_computed_where_their_files_have_the_inputs(coverage):
    built(coverage)
    sql = coverage["sql"]
    for scenario_id in SAMPLES:
        expected = expected_rows(scenario_id, coverage["loaded"][scenario_id])
        got = read_coverage(sql, scenario_id)
        assert got == expected, scenario_id
        computed = {k for k, row in got.items() if row["is_computed"]}
        assert computed == mart_entities(sql, scenario_id), scenario_id
        # the sample files have the eight tier reservoirs, every Delta series,
        # 6 of the 9 aggregates and the 69 units with CalSim3 series
        tier = {
            r["reservoir_code"]
            for r in seed("entities/reservoirs.csv")
            if r["is_tier_reservoir"] == "true"
        }
        assert {c for f, c in computed if f == "reservoir"} == tier
        assert sum(1 for f, _ in computed if f == "delivery") == 6 + 69
        assert sum(1 for f, _ in computed if f == "delta") == 4
        # computed without the flood release: listed missing, no spill, no reason
        shasta = got[("reservoir", "SHSTA")]
        assert shasta["is_computed"] and shasta["reason"] is None
        assert shasta["missing_inputs"] == ["C_SHSTA_FLOOD/CHANNEL"]
        assert shasta["computed_metrics"] == [
            "dead_pool",
            "flood_pool",
            "storage",
            "storage_pct_capacity",
        ]


def test_sample_scenarios_coverage_unchanged_by_the_real_file(coverage):
    built(coverage)
    sql, before = coverage["sql"], coverage["before"]
    for scenario_id in SAMPLES:
        assert before[scenario_id], scenario_id
        assert read_coverage(sql, scenario_id) == before[scenario_id], scenario_id


def test_api_serves_the_coverage_to_web_anon(coverage):
    built(coverage)
    api = Pgrst(coverage["url"].url())
    try:
        body = api.get("statistics_coverage", f"scenario_id=eq.{REAL}")
        expected = expected_rows(REAL, coverage["loaded"][REAL])
        assert {(r["family"], r["entity_code"]): r for r in body} == expected
        uncomputed = api.get(
            "statistics_coverage",
            "is_computed=is.false&family=eq.reservoir&entity_code=eq.SHSTA"
            "&select=scenario_id,reason&order=scenario_id",
        )
        assert uncomputed == [
            {
                "scenario_id": REAL,
                "reason": "missing inputs S_SHSTA/STORAGE, S_SHSTALEVEL5DV/STORAGE-LEVEL, "
                "C_SHSTA_FLOOD/CHANNEL",
            }
        ]
        every = api.get("statistics_coverage", "select=scenario_id")
        per_scenario = len(expected)
        assert len(every) == 3 * per_scenario
    finally:
        api.close()
    # web_anon reads the view, not the mart behind it
    sql = coverage["sql"]
    assert sql(
        "select has_table_privilege('web_anon', 'api.statistics_coverage', 'SELECT'),"
        " has_table_privilege('web_anon', 'marts.fct_statistics_coverage', 'SELECT')"
    ) == [(True, False)]
