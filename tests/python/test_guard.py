"""One build at a time and bounded waits (ingest/guard.py), with real processes:
the CLI against the test database, a real advisory lock held by another
session, and a loopback TCP proxy that freezes or drops the connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from ingest import guard
from tests.python.conftest import ROOT
from tests.python.tcp_proxy import TcpProxy

pytestmark = pytest.mark.db

COEQWAL = str(Path(sys.executable).parent / "coeqwal")
# The documented bound (README: "within 35 s") plus the CLI's own start-up.
LOST_BOUND = guard.LOST_AFTER_SECONDS + 10


def start(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [COEQWAL, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stderr_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def loaded(warehouse):
    """The sample warehouse, built: the state a second build or an ingest meets."""
    return warehouse


@pytest.fixture
def lock_holder(test_db, loaded):
    """A session of another client holding the build lock, as a running build does."""
    conn = psycopg2.connect(test_db.url(), application_name="holder of the lock (test)")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_lock(%s, %s), pg_backend_pid()", guard.BUILD_LOCK)
        pid = cur.fetchone()[1]
    yield conn, pid
    conn.close()


def test_a_second_build_waits_names_the_holder_and_gives_up_at_the_timeout(lock_holder):
    _, pid = lock_holder
    started = time.monotonic()
    proc = start("build", "--select", "themes", "--wait-timeout", "3")
    _, err = proc.communicate(timeout=120)
    waited = time.monotonic() - started
    assert proc.returncode == 1
    lines = stderr_lines(err)
    assert lines[0].startswith("coeqwal build: waiting for another build to finish")
    assert f"server pid {pid}" in lines[0] and "holder of the lock (test)" in lines[0]
    assert lines[-1].startswith("coeqwal: another build still holds the build lock after 3 s")
    assert len(lines) == 2, err
    assert 3 <= waited < 30


def test_a_waiting_build_runs_once_the_lock_is_released(lock_holder):
    conn, _ = lock_holder
    proc = start("build", "--select", "themes")
    time.sleep(4)
    assert proc.poll() is None, "the build must wait while the lock is held"
    conn.close()  # the holder ends: its session releases the lock
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "waiting for another build to finish" in err
    assert "dbt build:" in out


def test_two_builds_started_together_run_one_after_the_other(test_db, loaded, sql):
    before = sql("select count(*) from ops.dbt_runs")[0][0]
    procs = [start("build", "--select", "themes") for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    waited = [err for _, err in results if "waiting for another build to finish" in err]
    assert len(waited) == 1, "exactly one of the two waited for the other"
    runs = sql(
        "select started_at, finished_at from ops.dbt_runs where command = 'build --select themes'"
        " order by finished_at desc limit 2"
    )
    assert sql("select count(*) from ops.dbt_runs")[0][0] >= before + 2
    (s2, f2), (s1, f1) = runs
    assert f1 <= s2 or f2 <= s1, "the two builds overlapped"


@pytest.fixture
def proxied(test_db, loaded):
    proxy = TcpProxy(test_db.host, test_db.port)
    url = test_db.__class__(
        test_db.host, proxy.port, test_db.user, test_db.password, test_db.database
    ).url()
    yield proxy, {"COEQWAL_DATABASE_URL": url}
    proxy.close()


@pytest.mark.parametrize("failure", ["freeze", "drop"])
def test_a_lost_connection_ends_the_build_with_one_line_naming_it(proxied, failure):
    proxy, env = proxied
    proc = start("build", env=env)
    time.sleep(6)
    getattr(proxy, failure)()
    failed_at = time.monotonic()
    _, err = proc.communicate(timeout=LOST_BOUND + 60)
    took = time.monotonic() - failed_at
    assert proc.returncode == 1
    lines = stderr_lines(err)
    assert lines[-1].startswith(f"coeqwal: lost the connection to 127.0.0.1:{proxy.port}"), err
    assert len([line for line in lines if line.startswith("coeqwal")]) == 1, err
    assert took < LOST_BOUND, f"ended {took:.0f} s after the {failure}"


@pytest.mark.parametrize("when", ["at the start", "in the middle of the COPY"])
def test_a_frozen_connection_ends_an_ingest_with_one_line(test_db, loaded, sql, when):
    before = sql(
        "select source_sha256, count(*) from raw_dss.dss_series where scenario_id = 's0044'"
        " group by 1"
    )
    # The sample file's COPY sends ~0.6 MB: freezing after 200 kB stops it midway.
    proxy = TcpProxy(test_db.host, test_db.port, 200_000 if "COPY" in when else None)
    url = test_db.__class__(
        test_db.host, proxy.port, test_db.user, test_db.password, test_db.database
    ).url()
    try:
        proc = start(
            "ingest",
            "dss",
            "--scenario",
            "s0044",
            "--force",
            str(loaded["s0044"]),
            env={"COEQWAL_DATABASE_URL": url},
        )
        if "start" in when:
            time.sleep(0.5)
            proxy.freeze()
        deadline = time.monotonic() + 120
        while not proxy.frozen.is_set() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proxy.frozen.is_set(), "the ingest ended before the proxy froze"
        frozen_at = time.monotonic()
        _, err = proc.communicate(timeout=LOST_BOUND + 60)
        took = time.monotonic() - frozen_at
    finally:
        proxy.close()
    assert proc.returncode == 1
    lines = stderr_lines(err)
    assert len(lines) == 1, err
    # Either the loader's own connect timeout or the watchdog speaks first; both
    # name the server that stopped answering.
    assert "127.0.0.1" in lines[0] and str(proxy.port) in lines[0], err
    assert "lost the connection" in lines[0] or "timeout expired" in lines[0], err
    assert took < LOST_BOUND
    after = sql(
        "select source_sha256, count(*) from raw_dss.dss_series where scenario_id = 's0044'"
        " group by 1"
    )
    assert after == before, "a killed ingest must leave the loaded rows as they were"


def test_ping_answers_and_names_a_closed_port(test_db):
    assert guard.ping(test_db) is None
    closed = test_db.__class__(test_db.host, 9, test_db.user, test_db.password, test_db.database)
    reason = guard.ping(closed, 3.0)
    assert reason and ("refused" in reason or "failed" in reason), reason


def test_dbt_sessions_run_with_the_build_settings(test_db):
    """The build's server-side settings (guard.BUILD_SESSION_OPTIONS) reach
    dbt's own connections: a query dbt runs reads them back."""
    from ingest import build

    build.write_profile()
    settings = ("jit", "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
    query = "select " + ", ".join(f"current_setting('{s}') as {s}" for s in settings)
    project = ("--project-dir", str(ROOT))
    proc = subprocess.run(
        [build.dbt_executable(), "show", "--inline", query, "--output", "json", *project],
        cwd=ROOT,
        env=build.dbt_env(test_db),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    shown = json.loads(proc.stdout[proc.stdout.index("{") : proc.stdout.rindex("}") + 1])
    assert shown["show"] == [
        {
            "jit": "off",
            "statement_timeout": "30min",
            "lock_timeout": "5min",
            "idle_in_transaction_session_timeout": "30min",
        }
    ]
