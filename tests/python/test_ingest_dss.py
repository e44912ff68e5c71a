"""The DSS loader end to end on real files, through the real CLI, into the real
database: exact values, idempotence, clean refusal of bad input with the
previous state intact, S3 through moto's server on loopback, manifests, and a
kill -9 at several points of a load.

Expected values come from independent reads of the files with pydsstools (the
slow empty-D-part way), never from the loader. The real files are read in place
from ../shared/data (skipped with a reason when absent).
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ingest.dss.hecdss import open_dss
from tests.python.conftest import (
    ROOT,
    TEST_DATABASE,
    coeqwal,
    fresh_database,
    s3_client,
    sql_runner,
)

pytestmark = pytest.mark.db

DATABASE = f"{TEST_DATABASE}_ingest"  # two runs on one server (COEQWAL_TEST_DATABASE) never collide
SENTINELS = (-901.0, -902.0, 99000.0)
ENV = {"COEQWAL_DATABASE": DATABASE}


@pytest.fixture(scope="module")
def db(test_db):
    """A database of its own with no seeds, so any well-formed scenario id loads."""
    return fresh_database(test_db, DATABASE)


@pytest.fixture
def q(db):
    return sql_runner(db.url())


def ingest(*args: str, check: bool = True, env: dict | None = None):
    return coeqwal("ingest", "dss", *args, env={**ENV, **(env or {})}, check=check)


def one_error_line(proc) -> str:
    assert proc.returncode != 0, proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def scenario_state(q, scenario_id: str):
    """Row count and a checksum of every series' path and values."""
    return q(
        f"select count(*), md5(coalesce(string_agg(series_path || ':' || {RAW_VALUES}, ','"
        " order by series_path), '')) from raw_dss.dss_series where scenario_id = %s",
        (scenario_id,),
    )[0]


def loads_disagreeing_with_series(q) -> list:
    """Scenarios where raw_dss.dss_loads (what a build reads to find what changed)
    and the raw series disagree on the latest load or the series count."""
    return q(
        """
        select coalesce(series.scenario_id, loads.scenario_id), series.latest,
            loads.ingested_at, series.counted, loads.series_count
        from (
            select scenario_id::text, max(ingested_at) as latest, count(*)::int as counted
            from raw_dss.dss_series group by scenario_id
        ) as series
        full join raw_dss.dss_loads as loads on loads.scenario_id = series.scenario_id
        where series.latest is distinct from loads.ingested_at
            or series.counted is distinct from loads.series_count
        """
    )


def load_record(q, scenario_id: str) -> list:
    """The scenario's row of raw_dss.dss_loads, written when its partition was."""
    return q(
        "select ingested_at, series_count, recorded_at from raw_dss.dss_loads"
        " where scenario_id = %s",
        (scenario_id,),
    )


@pytest.fixture(scope="module")
def sample_series(sample_files) -> int:
    """Monthly series in a sample file, counted by an independent pydsstools read."""
    return len(independent_read(sample_files["s0020"]))


def loaded_rows(q, scenario_id: str) -> int:
    """Rows of the scenario in the raw table (0 when nothing was ever loaded)."""
    if q("select to_regclass('raw_dss.dss_series')") == [(None,)]:
        return 0
    return q("select count(*) from raw_dss.dss_series where scenario_id = %s", (scenario_id,))[0][0]


# A series' raw values as the text of a double precision[] (a `real` widened
# exactly), whichever typed column holds them.
RAW_VALUES = "coalesce(monthly_values_f4::double precision[], monthly_values_f8)::text"


def parse_literal(text: str) -> list[float | None]:
    return [None if v == "NULL" else float(v) for v in text.strip("{}").split(",")]


def independent_read(path: Path) -> dict[str, tuple[list[float | None], str]]:
    """Every monthly series of a file via pydsstools' empty-D-part read."""
    out = {}
    with open_dss(str(path)) as fid:
        logical = sorted(
            {
                "/".join(p.split("/")[:4]) + "//" + "/".join(p.split("/")[5:])
                for p in fid.search_path()
                if p.split("/")[5].upper() in ("1MON", "1MONTH")
            }
        )
        for lp in logical:
            ts = fid.read_ts(lp)
            values = np.array(ts.values, dtype=np.float64, copy=True)
            out[lp.upper()] = (
                [
                    None
                    if (not math.isfinite(v) or abs(v) >= 3.4e38 or v in SENTINELS)
                    else float(v)
                    for v in values
                ],
                str(ts.start_time),
            )
            del ts
    return out


@pytest.fixture(scope="module")
def v7_file(shared_data) -> Path:
    return shared_data / "dss" / "calsim2_postproc_v7.dss"


@pytest.fixture(scope="module")
def v7_loaded(db, v7_file):
    proc = ingest("--scenario", "real_v7", str(v7_file))
    assert "162 series" in proc.stdout
    return v7_file


def test_real_v7_file_loads_exactly(v7_loaded, q):
    expected = independent_read(v7_loaded)
    assert len(expected) == 162
    rows = q(
        f"select upper(series_path), month_count, missing_count, start_month, {RAW_VALUES} "
        "from raw_dss.dss_series where scenario_id = 'real_v7'"
    )
    assert len(rows) == 162
    by_path = {r[0]: r for r in rows}
    assert set(by_path) == set(expected)
    for path, (values, _) in expected.items():
        _, month_count, missing_count, start_month, literal = by_path[path]
        loaded = parse_literal(literal)
        # Leading/trailing missing values are kept (the series spans its blocks).
        assert month_count == len(loaded) == len(values), path
        assert missing_count == sum(v is None for v in values), path
        for got, want in zip(loaded, values, strict=True):
            if want is None:
                assert got is None, path
            else:  # float32 round trip: the shortest decimal of the file's value
                assert got is not None and math.isclose(got, want, rel_tol=2e-7, abs_tol=1e-30)
        assert str(start_month) == "1921-10-01"  # CalSim II: WY 1922-2003 from Oct 1921


def test_value_precision_of_hand_made_series():
    from ingest.dss.pipeline import value_precision

    floats = np.array([2454.2605, 0.1, 1e-3, 3.4e38, 0.0], dtype=np.float32).astype(np.float64)
    assert value_precision(np.append(floats, np.nan)) == "float32"  # NaN: missing
    assert value_precision(np.append(floats, 0.1)) == "float64"  # 0.1 as a double
    assert value_precision(np.array([1034.2776348876953125 + 2**-30])) == "float64"


def test_value_precision_of_the_real_file(v7_loaded, q):
    """This file stores doubles. A series flagged float32 holds exactly the file's
    32-bit floats (each decimal reads back to the independent read's float32); one
    flagged float64 holds some value that the independent float32 read cannot
    represent (pydsstools' empty-D read rounds doubles to float32)."""
    expected = independent_read(v7_loaded)
    rows = q(
        f"select upper(series_path), value_precision, {RAW_VALUES} from raw_dss.dss_series "
        "where scenario_id = 'real_v7'"
    )
    for path, precision, literal in rows:
        values, _ = expected[path]
        pairs = [
            (g, w) for g, w in zip(parse_literal(literal), values, strict=True) if w is not None
        ]
        if precision == "float32":
            assert all(np.float32(g) == np.float32(w) for g, w in pairs), path
        else:
            assert precision == "float64", path
            assert any(g != float(np.float32(g)) for g, _ in pairs), path
    assert {r[1] for r in rows} == {"float32", "float64"}


def test_end_of_period_stamps_map_to_the_month_they_close(v7_loaded, q):
    """The first value is stamped 31OCT1921 24:00 (read as 1 Nov 00:00): it is October."""
    expected = independent_read(v7_loaded)
    path, (_, first_stamp) = next(iter(expected.items()))
    assert "1921-11-01" in first_stamp or "01Nov1921" in first_stamp or "Nov" in first_stamp
    start = q("select start_month from raw_dss.dss_series where upper(series_path) = %s", (path,))[
        0
    ][0]
    assert (start.year, start.month) == (1921, 10)


def test_reingest_is_idempotent_and_recorded(v7_loaded, q):
    before = scenario_state(q, "real_v7")
    record = load_record(q, "real_v7")
    assert [r[1] for r in record] == [162]
    proc = ingest("--scenario", "real_v7", str(v7_loaded))
    assert "unchanged" in proc.stdout  # same file, same SHA-256: nothing re-read
    assert scenario_state(q, "real_v7") == before
    assert load_record(q, "real_v7") == record  # not even rewritten
    proc = ingest("--scenario", "real_v7", "--force", str(v7_loaded))
    assert "162 series" in proc.stdout  # reloaded in full: same rows, same values
    assert scenario_state(q, "real_v7") == before
    # A new load of the same rows: a build recomputes the scenario.
    assert load_record(q, "real_v7")[0][0] > record[0][0]
    assert loads_disagreeing_with_series(q) == []
    runs = q(
        "select status, series_read, values_loaded, null_values, files->0->>'sha256', "
        "(files->0->>'dss_version')::int, (files->0->>'size_bytes')::bigint "
        "from ops.ingest_runs where scenario_id = 'real_v7' and status <> 'failed' order by run_id"
    )
    assert [r[0] for r in runs][:3] == ["succeeded", "unchanged", "succeeded"]
    import hashlib

    digest = hashlib.sha256(v7_loaded.read_bytes()).hexdigest()
    assert {r[4] for r in runs} == {digest}
    assert {r[5] for r in runs} == {7}
    assert {r[6] for r in runs} == {v7_loaded.stat().st_size}
    total = q("select sum(month_count), sum(missing_count) from raw_dss.dss_series "
              "where scenario_id = 'real_v7'")[0]  # fmt: skip
    assert runs[2][1:4] == (162, total[0], total[1])


@pytest.mark.parametrize("name", ["calsim2_postproc_base_v6.dss", "calsim3_init_v6.dss"])
def test_dss6_is_refused_and_nothing_loads(v7_loaded, q, shared_data, name):
    before = scenario_state(q, "real_v7")
    line = one_error_line(
        ingest("--scenario", "real_v7", str(shared_data / "dss" / name), check=False)
    )
    assert name in line and "6" in line and ("DSSVue" in line or "convert" in line.lower())
    assert scenario_state(q, "real_v7") == before
    status = q("select status, files->0->>'dss_version' from ops.ingest_runs "
               "order by run_id desc limit 1")  # fmt: skip
    assert status == [("failed", "6")]


def test_mixed_file_skips_and_reports_non_monthly_records(db, q, shared_data):
    line = one_error_line(
        ingest(
            "--scenario",
            "mixed",
            str(shared_data / "dss" / "hec_sample7_mixed_v7.dss"),
            check=False,
        )
    )
    assert "no regular monthly" in line and "daily" in line and "paired data" in line
    skipped = q("select series_skipped from ops.ingest_runs where scenario_id = 'mixed' "
                "order by run_id desc limit 1")[0][0]  # fmt: skip
    assert sum(skipped.values()) == 597  # every record of the file, by kind
    assert skipped.get("paired data", 0) > 0 and skipped.get("daily time series", 0) > 0
    assert q("select count(*) from raw_dss.dss_series where scenario_id = 'mixed'") == [(0,)]


@pytest.mark.parametrize("damage", ["truncated_half", "truncated_tail", "empty", "text", "missing"])
def test_bad_files_fail_cleanly_and_keep_previous_data(v7_loaded, q, tmp_path, damage):
    before = scenario_state(q, "real_v7")
    bad = tmp_path / "bad.dss"
    data = v7_loaded.read_bytes()
    if damage == "truncated_half":
        bad.write_bytes(data[: len(data) // 2])
    elif damage == "truncated_tail":
        bad.write_bytes(data[:-4096])
    elif damage == "empty":
        bad.write_bytes(b"")
    elif damage == "text":
        bad.write_text("this is not a DSS file\n" * 100)
    record = load_record(q, "real_v7")
    line = one_error_line(ingest("--scenario", "real_v7", str(bad), check=False))
    assert "bad.dss" in line
    assert scenario_state(q, "real_v7") == before
    assert load_record(q, "real_v7") == record
    if damage != "missing":
        assert not bad.exists() or bad.stat().st_size == len(bad.read_bytes())  # untouched


def _damage_only_the_integrity_check_sees(source: Path, dest: Path) -> None:
    """Zero 8 bytes of the first pathname bin (header word 24), 8 bytes in: the header,
    the catalog and every read are unaffected (test_dss_reader.py shows it); only
    HEC's integrity check (`check_file`) reports the damage."""
    data = bytearray(source.read_bytes())
    offset = struct.unpack("<100q", bytes(data[:800]))[24] * 8 + 8
    data[offset : offset + 8] = bytes(8)
    dest.write_bytes(bytes(data))


def test_damage_found_by_the_deferred_check_loads_nothing(v7_loaded, q, tmp_path):
    """The integrity check runs while the series are read (deferred): its verdict
    comes after the last series was extracted, and must still load nothing, either
    for a scenario that has rows or for a new one. The file itself passes every check
    made before reading (header, sizes, catalog), so only the deferred check stops it."""
    from ingest.dss import reader

    bad = tmp_path / "damaged_DV.dss"
    _damage_only_the_integrity_check_sees(v7_loaded, bad)
    assert len(reader.scan(bad, check=False).monthly) == 162  # reads fine without the check
    before = scenario_state(q, "real_v7")
    for scenario in ("real_v7", "never_loaded"):
        line = one_error_line(ingest("--scenario", scenario, str(bad), check=False))
        assert "damaged_DV.dss" in line and "integrity check" in line
        run = q("select status, error, series_read from ops.ingest_runs "
                "where scenario_id = %s order by run_id desc limit 1", (scenario,))  # fmt: skip
        assert run[0][0] == "failed" and "integrity check" in run[0][1]
        assert run[0][2] == 0  # a failed run loaded nothing
    assert scenario_state(q, "real_v7") == before
    assert scenario_state(q, "never_loaded") == (0, scenario_state(q, "no_such_scenario")[1])


def test_bad_file_in_a_batch_loads_nothing(v7_loaded, q, sample_files, tmp_path):
    """Two files for one scenario, the second corrupt: neither is loaded."""
    before = scenario_state(q, "real_v7")
    bad = tmp_path / "x_SV.dss"
    bad.write_bytes(v7_loaded.read_bytes()[:100_000])
    proc = ingest("--scenario", "real_v7", str(sample_files["s0020"]), str(bad), check=False)
    one_error_line(proc)
    assert scenario_state(q, "real_v7") == before


def test_other_scenarios_untouched_by_a_reingest(v7_loaded, q, sample_files, sample_series):
    ingest("--scenario", "s0020", str(sample_files["s0020"]))
    other = scenario_state(q, "real_v7")
    ingest("--scenario", "s0020", str(sample_files["s0020"]))
    assert scenario_state(q, "real_v7") == other
    assert scenario_state(q, "s0020")[0] == sample_series


def test_manifest_csv_and_yaml(db, q, sample_files, v7_file, tmp_path, sample_series):
    csv_manifest = tmp_path / "manifest.csv"
    csv_manifest.write_text(
        f"scenario_id,path\nm_csv_a,{sample_files['s0029']}\nm_csv_b,{v7_file}\n"
    )
    proc = coeqwal("ingest", "dss", "--manifest", str(csv_manifest), env=ENV)
    assert scenario_state(q, "m_csv_a")[0] == sample_series
    assert f"m_csv_a: {sample_series} series" in proc.stdout
    assert "m_csv_b: 162 series" in proc.stdout
    yaml_manifest = tmp_path / "runs" / "manifest.yaml"
    yaml_manifest.parent.mkdir()
    shutil.copy(sample_files["s0044"], tmp_path / "s0044_DV.dss")
    yaml_manifest.write_text(
        "scenarios:\n  - id: m_yaml\n    dv: ../s0044_DV.dss\n    description: relative path\n"
    )
    coeqwal("ingest", "dss", "--manifest", str(yaml_manifest), env=ENV)
    assert scenario_state(q, "m_yaml")[0] == sample_series
    assert q("select distinct file_role from raw_dss.dss_series where scenario_id = 'm_yaml'") == [
        ("DV",)
    ]


@pytest.mark.parametrize(
    "bad_entry, says",
    [
        ("missing", "no such file"),
        ("v6", "version 6"),
        ("truncated", "truncated"),
        ("not_dss", "not a HEC-DSS file"),
        ("two_dv", "2 files of role DV"),
    ],
)
def test_manifest_is_checked_whole_before_anything_loads(
    db, q, sample_files, shared_data, tmp_path, bad_entry, says
):
    """The first entry is good, the second bad: nothing of the batch is loaded,
    the command refuses in one line naming the scenario, quickly (no reading)."""
    bad = tmp_path / "bad"
    bad.mkdir()
    paths = {
        "missing": [str(bad / "nope_DV.dss")],
        "v6": [str(shared_data / "dss" / "calsim2_postproc_base_v6.dss")],
        "truncated": [str(bad / "cut_DV.dss")],
        "not_dss": [str(bad / "text_DV.dss")],
        "two_dv": [str(sample_files["s0044"]), str(sample_files["s0029"])],
    }[bad_entry]
    (bad / "cut_DV.dss").write_bytes(sample_files["s0044"].read_bytes()[:200_000])
    (bad / "text_DV.dss").write_text("scenario,value\n")
    manifest = tmp_path / "manifest.csv"
    rows = [f"pre_good,{sample_files['s0020']}"] + [f"pre_bad,{p}" for p in paths]
    manifest.write_text("scenario_id,path\n" + "\n".join(rows) + "\n")
    started = time.monotonic()
    line = one_error_line(ingest("--manifest", str(manifest), check=False))
    assert time.monotonic() - started < 20
    assert "scenario pre_bad" in line and says in line, line
    assert loaded_rows(q, "pre_good") == 0, "the good entry must not load either"
    if q("select to_regclass('ops.ingest_runs')") != [(None,)]:
        assert q("select count(*) from ops.ingest_runs where scenario_id like 'pre_%%'") == [(0,)]


def test_manifest_refuses_a_scenario_listed_twice_and_a_huge_id(db, sample_files, tmp_path):
    manifest = tmp_path / "twice.yaml"
    manifest.write_text(
        "scenarios:\n"
        f"  - id: twice\n    dv: {sample_files['s0020']}\n"
        f"  - id: twice\n    dv: {sample_files['s0029']}\n"
    )
    assert "listed twice" in one_error_line(ingest("--manifest", str(manifest), check=False))
    huge = "s" * 5000
    manifest = tmp_path / "huge.csv"
    manifest.write_text(f"scenario_id,path\n{huge},{sample_files['s0020']}\n")
    line = one_error_line(ingest("--manifest", str(manifest), check=False))
    assert "5,000 characters" in line and huge not in line and len(line) < 300
    line = one_error_line(ingest("--scenario", huge, str(sample_files["s0020"]), check=False))
    assert "5,000 characters" in line and len(line) < 300


def test_scenario_id_is_required_and_validated(db):
    assert "--scenario" in one_error_line(coeqwal("ingest", "dss", "x.dss", env=ENV, check=False))
    line = one_error_line(ingest("--scenario", "bad id;drop", "x.dss", check=False))
    assert "scenario id" in line


# --- S3 through moto's server on loopback ------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    env = {
        "AWS_ENDPOINT_URL_S3": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-west-2",
    }
    yield env
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=10)


def test_s3_object_loads_like_the_local_file(v7_loaded, q, s3_endpoint):
    s3 = s3_client(s3_endpoint)
    s3.create_bucket(
        Bucket="coeqwal-dss", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    s3.upload_file(str(v7_loaded), "coeqwal-dss", "runs/real/calsim2_DV.dss")
    ingest("--scenario", "real_s3", "s3://coeqwal-dss/runs/real/calsim2_DV.dss", env=s3_endpoint)
    local = q(f"select series_path, {RAW_VALUES} from raw_dss.dss_series "
              "where scenario_id = 'real_v7' order by 1")  # fmt: skip
    remote = q(f"select series_path, {RAW_VALUES} from raw_dss.dss_series "
               "where scenario_id = 'real_s3' order by 1")  # fmt: skip
    assert remote == local and len(remote) == 162
    source = q("select files->0->>'source' from ops.ingest_runs where scenario_id = 'real_s3' "
               "order by run_id desc limit 1")  # fmt: skip
    assert source == [("s3://coeqwal-dss/runs/real/calsim2_DV.dss",)]

    before = scenario_state(q, "real_s3")
    line = one_error_line(
        ingest(
            "--scenario", "real_s3", "s3://coeqwal-dss/runs/nope.dss", env=s3_endpoint, check=False
        )
    )
    assert "s3://coeqwal-dss/runs/nope.dss" in line
    assert scenario_state(q, "real_s3") == before


def test_manifest_checks_s3_objects_before_loading(db, q, s3_endpoint, sample_files, tmp_path):
    s3 = s3_client(s3_endpoint)
    s3.create_bucket(
        Bucket="coeqwal-pre", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    s3.upload_file(str(sample_files["s0020"]), "coeqwal-pre", "ok/s0020_DV.dss")
    s3.put_object(Bucket="coeqwal-pre", Key="bad/text_DV.dss", Body=b"not a dss file")
    manifest = tmp_path / "s3.csv"
    for key, says in [("bad/text_DV.dss", "not a HEC-DSS file"), ("bad/gone_DV.dss", "S3 said")]:
        manifest.write_text(
            "scenario_id,path\n"
            "s3_good,s3://coeqwal-pre/ok/s0020_DV.dss\n"
            f"s3_bad,s3://coeqwal-pre/{key}\n"
        )
        line = one_error_line(ingest("--manifest", str(manifest), env=s3_endpoint, check=False))
        assert "scenario s3_bad" in line and says in line, line
        assert loaded_rows(q, "s3_good") == 0


# --- kill -9 at several points of a load ----------------------------------------------


@pytest.fixture(scope="module")
def medium_file(tmp_path_factory) -> Path:
    from coeqwal_tools.sample import dss as sample

    out = tmp_path_factory.mktemp("medium")
    return sample.write_full_size(out, n_series=3000)


@pytest.mark.slow
def test_unchanged_is_decided_by_the_rows_not_by_the_run_records(q, sample_files):
    """A run killed after its partition swap committed, before its ops row was
    written, leaves the new file's rows behind an older `succeeded` record: the
    rows (each records its file's SHA-256) decide what is already loaded."""
    ingest("--scenario", "swapped", str(sample_files["s0020"]))
    first = scenario_state(q, "swapped")
    ingest("--scenario", "swapped", str(sample_files["s0044"]))
    second = scenario_state(q, "swapped")
    assert second != first
    # As if the second run had been killed right after the swap: no ops row for it.
    q(
        "delete from ops.ingest_runs where run_id = (select max(run_id) from ops.ingest_runs "
        "where scenario_id = 'swapped' and status = 'succeeded')"
    )
    again = ingest("--scenario", "swapped", str(sample_files["s0020"]))
    assert "unchanged" not in again.stdout  # the rows are s0044's: s0020's file is reloaded
    assert scenario_state(q, "swapped") == first
    same = ingest("--scenario", "swapped", str(sample_files["s0020"]))
    assert "unchanged" in same.stdout and scenario_state(q, "swapped") == first


def test_kill_at_any_point_leaves_previous_state(db, q, medium_file, sample_files, sample_series):
    """Load a scenario, then re-ingest a bigger file for it and kill -9 the loader
    at several moments (reading, extracting, copying, merging): the scenario keeps
    its previous rows every time, and a final rerun loads the new file fully."""
    ingest("--scenario", "killme", str(sample_files["s0020"]))
    before = scenario_state(q, "killme")
    assert before[0] == sample_series
    exe = str(Path(sys.executable).parent / "coeqwal")
    env = {**os.environ, **ENV}
    # A full uninterrupted run first, to know how long one takes here.
    start = time.monotonic()
    ingest("--scenario", "killme_timing", str(medium_file))
    full = time.monotonic() - start
    for fraction in (0.15, 0.4, 0.65, 0.85, 0.95):
        proc = subprocess.Popen(
            [exe, "ingest", "dss", "--scenario", "killme", str(medium_file)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
            start_new_session=True,
        )  # fmt: skip
        time.sleep(full * fraction)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        state = scenario_state(q, "killme")
        if state[0] == 3000:  # the merge transaction had committed before the kill
            ingest("--scenario", "killme", str(sample_files["s0020"]))
            state = scenario_state(q, "killme")
        assert state == before, f"killed at {fraction:.0%} of a run"
        assert loads_disagreeing_with_series(q) == [], f"killed at {fraction:.0%} of a run"
    ingest("--scenario", "killme", str(medium_file))
    assert scenario_state(q, "killme") == scenario_state(q, "killme_timing")
    assert scenario_state(q, "killme")[0] == 3000
    # The killed runs' own schemas were dropped by the runs after them.
    assert q("select nspname from pg_namespace where nspname like 'raw\\_dss\\_load\\_%'") == []


def test_a_table_from_before_partitioning_becomes_the_default_partition(
    test_db, sample_files, sample_series
):
    """A database loaded before raw_dss.dss_series was partitioned (one plain table,
    no value_precision column): the next ingest keeps every other scenario's rows
    (in the DEFAULT partition) and replaces only its own scenario's."""
    from coeqwal_tools import localdb

    url = fresh_database(test_db, f"{DATABASE}_legacy")
    q = sql_runner(url.url())
    env = {"COEQWAL_DATABASE": url.database}
    ingest("--scenario", "s0020", str(sample_files["s0020"]), env=env)
    q(
        "create table raw_dss.plain (like raw_dss.dss_series);"  # NOT NULLs as dlt made them
        "insert into raw_dss.plain select * from raw_dss.dss_series;"
        "alter table raw_dss.plain drop column value_precision;"
        "insert into raw_dss.plain select * from raw_dss.plain;"  # a second scenario
        "update raw_dss.plain set scenario_id = 'kept' where ctid in "
        "(select ctid from raw_dss.plain order by ctid limit %s);"
        "drop table raw_dss.dss_series;"
        "alter table raw_dss.plain rename to dss_series;"
        "drop table raw_dss.dss_loads",  # a loader of that time did not write it
        (sample_series,),
    )
    kept = scenario_state(q, "kept")
    assert kept[0] == sample_series and scenario_state(q, "s0020")[0] == sample_series
    # The same file as before, without --force: rows from an older loader are not
    # "unchanged", they are reloaded (which converts the table).
    again = ingest("--scenario", "s0020", str(sample_files["s0020"]), env=env)
    assert "unchanged" not in again.stdout
    assert scenario_state(q, "kept") == kept
    assert q("select count(*), count(value_precision) from raw_dss.dss_series "
             "where scenario_id = 's0020'") == [(sample_series, sample_series)]  # fmt: skip
    assert q("select relkind from pg_class where oid = 'raw_dss.dss_series'::regclass") == [("p",)]
    # The load record was created with the swap, filled from every scenario landed.
    assert [r[1] for r in load_record(q, "kept")] == [sample_series]
    assert loads_disagreeing_with_series(q) == []
    ingest("--scenario", "kept", str(sample_files["s0044"]), env=env)  # leaves the default
    assert q("select count(*) from raw_dss.dss_series__before_partitioning") == [(0,)]
    assert scenario_state(q, "kept")[0] == sample_series and scenario_state(q, "kept") != kept
    assert loads_disagreeing_with_series(q) == []
    localdb.drop_database(url)


def test_the_load_records_are_created_once_for_series_landed_before_them(test_db, sample_files):
    """A database whose series landed before raw_dss.dss_loads existed: `coeqwal
    build` creates it first (ensure_committed), one row per scenario from the
    series; a database with no series gets none (nothing to describe)."""
    from coeqwal_tools import localdb
    from ingest import ops
    from ingest.dss import loads

    url = fresh_database(test_db, f"{DATABASE}_loads")
    q = sql_runner(url.url())
    conn = ops.connect(url)
    try:
        loads.ensure_committed(conn)
        assert q("select to_regclass('raw_dss.dss_loads')") == [(None,)]
        env = {"COEQWAL_DATABASE": url.database}
        for scenario in ("first", "second"):
            ingest("--scenario", scenario, str(sample_files["s0020"]), env=env)
        recorded = q("select scenario_id, ingested_at, series_count from raw_dss.dss_loads")
        assert len(recorded) == 2 and loads_disagreeing_with_series(q) == []
        q("drop table raw_dss.dss_loads")
        loads.ensure_committed(conn)
        again = q("select scenario_id, ingested_at, series_count from raw_dss.dss_loads")
        assert sorted(again) == sorted(recorded)
    finally:
        conn.close()
        localdb.drop_database(url)
