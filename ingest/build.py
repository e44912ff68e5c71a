"""`coeqwal build`: dbt build (seeds, models, tests) against the active database.

Writes `profiles.yml` (from `profiles.example.yml`, which reads env vars) and runs
dbt with the COEQWAL_PG* variables set from the active database, so the same
project builds on the embedded cluster, in CI and on RDS.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from ingest import guard
from ingest.config import PROJECT_ROOT, DatabaseUrl, active_database
from ingest.dss import loads as dss_loads


class BuildError(Exception):
    """dbt failed; the message is one line."""


def dbt_env(db: DatabaseUrl) -> dict[str, str]:
    return {
        **os.environ,
        "COEQWAL_PGHOST": db.host,
        "COEQWAL_PGPORT": str(db.port),
        "COEQWAL_PGUSER": db.user,
        "COEQWAL_PGPASSWORD": db.password,
        "COEQWAL_PGDATABASE": db.database,
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # libpq reads PGOPTIONS: the server-side limits of a build session.
        "PGOPTIONS": " ".join(
            part for part in (os.environ.get("PGOPTIONS", ""), guard.BUILD_SESSION_OPTIONS) if part
        ),
    }


def write_profile() -> Path:
    target = PROJECT_ROOT / "profiles.yml"
    example = PROJECT_ROOT / "profiles.example.yml"
    if not target.exists() or target.read_text() != example.read_text():
        shutil.copyfile(example, target)
    return target


def dbt_executable() -> str:
    local = Path(sys.executable).parent / "dbt"
    return str(local) if local.exists() else "dbt"


def _die_with_parent() -> None:
    """In the dbt child (Linux): SIGKILL when coeqwal dies, even by kill -9, so no
    dbt outlives the build lock it ran under."""
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_dbt(args: list[str], db: DatabaseUrl | None = None, *, quiet: bool = False) -> int:
    """Run one dbt command in the project with the active database's profile."""
    db = db or active_database()
    write_profile()
    cmd = [dbt_executable(), *args, "--project-dir", str(PROJECT_ROOT)]
    # dbt runs in a process group of its own, so that a lost database
    # (guard.exit_lost) or an interrupt ends it with every helper it started.
    proc = subprocess.Popen(
        cmd,
        cwd=PROJECT_ROOT,
        env=dbt_env(db),
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
        text=True,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    guard.PROCESS_GROUPS.add(proc.pid)
    try:
        stdout, _ = proc.communicate()
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    finally:
        guard.PROCESS_GROUPS.discard(proc.pid)
    if proc.returncode != 0 and quiet and stdout:
        sys.stdout.write(stdout)
    return proc.returncode


def target_path() -> Path:
    """dbt's target folder: `target/`, or DBT_TARGET_PATH (dbt's own variable)."""
    path = Path(os.environ.get("DBT_TARGET_PATH", "target"))
    return path if path.is_absolute() else PROJECT_ROOT / path


def run_results() -> dict:
    path = target_path() / "run_results.json"
    return json.loads(path.read_text()) if path.exists() else {}


def summarize(results: dict) -> str:
    counts: dict[str, int] = {}
    for res in results.get("results", []):
        counts[res["status"]] = counts.get(res["status"], 0) + 1
    elapsed = results.get("elapsed_time", 0.0)
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return f"dbt build: {parts} in {elapsed:.1f} s"


def run_dbt_build(
    select: str | None = None,
    db: DatabaseUrl | None = None,
    *,
    wait_timeout: float | None = None,
    full_refresh: bool = False,
    state: str | None = None,
) -> int:
    """dbt build (which loads the seeds first); raise BuildError with one line on failure.

    One build at a time: the build lock is held for the whole build (another
    build waits at most `wait_timeout` seconds for it). A database that stops
    answering ends the build within guard.LOST_AFTER_SECONDS with one line
    naming it. Every build, failed or not, is recorded in ops.dbt_runs /
    ops.dbt_node_results, and `dbt source freshness` runs after it (recorded,
    never failing the build). `full_refresh` rebuilds the incremental models
    from scratch (every scenario): needed once after an upgrade that changes
    how stored rows are computed. `state` is a folder holding another build's
    manifest.json, for `state:` selectors (slim CI: `--select +state:modified+`).
    """
    db = db or active_database()
    reason = guard.ping(db)
    if reason:
        raise BuildError(guard.lost_message(db, reason))
    try:
        with guard.watched(db, guard.exit_lost), guard.build_lock(db, wait_timeout):
            return _build_locked(select, db, full_refresh, state)
    except guard.LockTimeout as exc:
        raise BuildError(str(exc)) from None


AUDIT_BATCH_MARKER = "/* coeqwal: audit batch */"  # macros/publish/scoped_tests.sql, audit_scope
AUDIT_BATCH_SIZE = 1
# Between two batches the audit lets go of the build lock this long: a build
# waiting for it (guard.build_lock polls every second) takes it then.
AUDIT_YIELD_SECONDS = 2.5


def audit_scenario_ids(db: DatabaseUrl) -> list[str]:
    """The scenarios an audit checks: every scenario with raw series loaded
    (raw_dss.dss_loads) or a per-scenario table computed (store.scenario_parts)."""
    from ingest import ops

    conn = ops.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select to_regclass(%s) is not null, to_regclass('store.scenario_parts') is not null",
                (dss_loads.TABLE,),
            )
            loads, parts = cur.fetchone()
            sources = []
            if loads:
                sources.append(f"select scenario_id from {dss_loads.TABLE}")
            if parts:
                sources.append("select scenario_id from store.scenario_parts")
            if not sources:
                return []
            cur.execute(
                f"select distinct scenario_id from ({' union '.join(sources)}) s order by 1"
            )
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


def run_audit(
    db: DatabaseUrl | None = None,
    *,
    wait_timeout: float | None = None,
    batch_size: int = AUDIT_BATCH_SIZE,
    scenario_ids: list[str] | None = None,
) -> int:
    """Every data test on every scenario of the published warehouse (`coeqwal audit`).

    A build tests the scenarios it computed (macros/publish/scoped_tests.sql);
    the audit tests all of them, `batch_size` scenarios at a time: the first
    dbt invocation runs every test, each per-scenario test on the first batch
    (its SQL carries AUDIT_BATCH_MARKER) and every other test once; the next
    invocations run the per-scenario tests on the next batches. A check's
    temporary space and time are so a batch's, not the whole warehouse's, and
    the audit's time grows with the number of scenarios: run it nightly or
    after an upgrade. `scenario_ids` audits those scenarios only.

    Every batch is a dbt invocation recorded in ops.dbt_runs as `audit`,
    grouped by ops.audit_batches; the failing rows of every batch are kept in
    ops.audit_failures (ops_audit keeps the last batch's). A failing test does
    not stop the audit: it goes on through every batch, then exits 1 with one
    line. Each batch holds the build lock (a build and an audit would write
    the same ops_audit tables), and lets go of it for AUDIT_YIELD_SECONDS
    before the next: a build that arrives during an audit hours long waits
    for one batch, not for the audit."""
    import time
    import uuid

    from ingest import ops

    if batch_size < 1:
        raise BuildError(f"audit: the batch size must be at least 1, not {batch_size}")
    db = db or active_database()
    reason = guard.ping(db)
    if reason:
        raise BuildError(guard.lost_message(db, reason))
    audit_id = str(uuid.uuid4())
    counts: dict[str, int] = {}
    failed: dict[str, list[int]] = {}
    try:
        with guard.watched(db, guard.exit_lost):
            known = audit_scenario_ids(db)
            if scenario_ids:
                unknown = sorted(set(scenario_ids) - set(known))
                if unknown:
                    raise BuildError(f"audit: no scenario loaded or computed: {', '.join(unknown)}")
                known = sorted(set(scenario_ids))
            batches = [known[i : i + batch_size] for i in range(0, len(known), batch_size)] or [[]]
            per_scenario: list[str] | None = None
            for number, batch in enumerate(batches, 1):
                extra = ["--vars", json.dumps({"audit": True, "audit_scenarios": batch})]
                if per_scenario is not None:
                    extra += ["--select", *per_scenario]
                    time.sleep(AUDIT_YIELD_SECONDS)
                with guard.build_lock(db, wait_timeout):
                    code, results = run_dbt_recorded(["test"], db, extra=extra, label="audit")
                    rows = results.get("results", [])
                    failing = [r for r in rows if r["status"] in ("error", "fail")]
                    # before a build can replace the ops_audit tables
                    ops.record_audit_batch(
                        db,
                        audit_id=audit_id,
                        batch=number,
                        batch_count=len(batches),
                        invocation_id=(results.get("metadata") or {}).get("invocation_id"),
                        scenario_ids=batch,
                        failing=[(r["unique_id"], r.get("relation_name")) for r in failing],
                    )
                for r in rows:
                    counts[r["status"]] = counts.get(r["status"], 0) + 1
                for r in failing:
                    failed.setdefault(r["unique_id"].split(".", 2)[-1], []).append(number)
                if code != 0 and not failing:
                    raise BuildError(f"audit failed: dbt exited {code} in batch {number}")
                shown = f"{batch[0]} .. {batch[-1]}" if len(batch) > 1 else "".join(batch)
                print(
                    f"audit batch {number}/{len(batches)} ({shown or 'no scenario'}): "
                    + summarize(results).replace("dbt build: ", ""),
                    flush=True,
                )
                if per_scenario is None:
                    per_scenario = sorted(
                        {
                            r["unique_id"].split(".")[2]
                            for r in rows
                            if AUDIT_BATCH_MARKER in (r.get("compiled_code") or "")
                        }
                    )
                    if not per_scenario:
                        break
    except guard.LockTimeout as exc:
        raise BuildError(str(exc)) from None
    if failed:
        first, where = next(iter(failed.items()))
        raise BuildError(
            f"audit failed: {len(failed)} test(s); first: {first} (batch {where[0]}); "
            f"failing rows in ops.audit_failures, audit {audit_id}"
        )
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"audit: {parts}; {len(known)} scenario(s) in {len(batches)} batch(es), audit {audit_id}")
    return 0


def seeds_with_new_columns(db: DatabaseUrl) -> list[str]:
    """Seeds whose CSV header no longer matches the columns of their table.

    `dbt seed` reloads an existing seed by truncating and inserting, which fails
    when the CSV gained, lost or renamed a column (after an upgrade): those
    seeds are loaded with --full-refresh first."""
    import csv

    from ingest import ops

    wanted = {}
    for path in sorted((PROJECT_ROOT / "seeds").rglob("*.csv")):
        with path.open(newline="") as fh:
            wanted[path.stem] = [c.strip().lower() for c in next(csv.reader(fh), [])]
    conn = ops.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select table_name, array_agg(column_name::text order by ordinal_position)"
                " from information_schema.columns where table_schema = 'seeds'"
                " group by table_name"
            )
            existing = dict(cur.fetchall())
    finally:
        conn.close()
    return [name for name, cols in wanted.items() if name in existing and existing[name] != cols]


def restore_dropped_views(db: DatabaseUrl) -> list[str]:
    """After an in-place build: rebuild the project's views that are missing.

    Replacing a table in place drops the views that read it (dbt drops the old
    table with `cascade`), and dbt recreates only the views it was asked to
    build; the others are rebuilt here, so that a development build does not
    leave `api` endpoints missing. Returns the views rebuilt."""
    from ingest import ops

    path = target_path() / "manifest.json"
    if not path.exists():
        return []
    nodes = json.loads(path.read_text()).get("nodes", {})
    views = {
        (node["schema"], node.get("alias") or node["name"]): node["name"]
        for node in nodes.values()
        if node.get("resource_type") == "model"
        and node.get("config", {}).get("materialized") == "view"
        and node.get("config", {}).get("enabled", True)
    }
    conn = ops.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select n.nspname, c.relname from pg_class c "
                "join pg_namespace n on n.oid = c.relnamespace where n.nspname = any(%s)",
                (sorted({schema for schema, _ in views}),),
            )
            present = set(cur.fetchall())
    finally:
        conn.close()
    missing = sorted(name for key, name in views.items() if key not in present)
    if missing:
        # The build's run_results.json stays the one in target/ (its artifact).
        results = target_path() / "run_results.json"
        kept = results.read_bytes() if results.exists() else None
        try:
            code = run_dbt(["run", "--select", *missing], db, quiet=True)
        finally:
            if kept is not None:
                results.write_bytes(kept)
        if code != 0:
            raise BuildError(
                f"views dropped by the in-place build not rebuilt: {', '.join(missing)}"
            )
        print(
            f"rebuilt {len(missing)} view(s) dropped with the tables they read: {', '.join(missing)}"
        )
    return missing


def _build_locked(
    select: str | None, db: DatabaseUrl, full_refresh: bool = False, state: str | None = None
) -> int:
    """The whole project into shadow schemas, then published (ingest/publish.py);
    a `select`ion is built in place, as plain dbt does (for development)."""
    from ingest import ops, publish

    ops.ensure_ops_tables(db)
    conn = ops.connect(db)
    try:
        dss_loads.ensure_committed(conn)
    finally:
        conn.close()
    shadow = select is None
    loads: dict[str, str] = {}
    if shadow:
        publish.prepare(db)
        conn = ops.connect(db)
        try:
            with conn.cursor() as cur:
                loads = publish.published_loads(cur)
        finally:
            conn.close()
    changed = [] if (full_refresh or shadow) else seeds_with_new_columns(db)
    if changed:
        print(f"seeds whose columns changed, reloaded whole: {', '.join(changed)}")
        code, _ = run_dbt_recorded(["seed", "--full-refresh", "--select", *changed], db)
        if code != 0:
            raise BuildError(f"dbt seed --full-refresh of {', '.join(changed)} failed")
    args = ["build"]
    if select:
        args = [*args, "--select", select]
    if full_refresh:
        args = [*args, "--full-refresh"]
    if state:
        args = [*args, "--state", state]
    extra = ["--vars", json.dumps({"schema_suffix": publish.SUFFIX})] if shadow else []
    # Tests tagged `audit` read every row of a large view: `coeqwal audit` runs them.
    code, results = run_dbt_recorded(args, db, extra=["--exclude", "tag:audit", *extra])
    if not shadow and not guard.ping(db, 5.0):
        try:
            restore_dropped_views(db)
        except BuildError:
            if code == 0:
                raise  # else the build's own failure is the one reported
    if code != 0:
        reason = guard.ping(db, 5.0)
        if reason:  # a dropped connection, not the node dbt names first
            raise BuildError(guard.lost_message(db, reason))
        check_source_freshness(db, extra)
        if shadow:
            publish.discard(db)
        failed = [
            f"{r['unique_id']}: {(r.get('message') or '').strip().splitlines()[0:1]}"
            for r in results.get("results", [])
            if r["status"] in ("error", "fail")
        ]
        first = failed[0] if failed else f"exit code {code}"
        unchanged = "; nothing published, clients see the previous build" if shadow else ""
        raise BuildError(f"dbt {args[0]} failed ({len(failed)} node(s)); first: {first}{unchanged}")
    print(summarize(results))
    # Before the switch, with the build's own vars: dbt's partial parsing then
    # reuses the build's parse here and in the next build (other vars would
    # make both parse the whole project again).
    check_source_freshness(db, extra)
    if shadow:
        invocation = (results.get("metadata") or {}).get("invocation_id")
        try:
            seconds = publish.publish(db, invocation, loads)
        except Exception as exc:
            raise BuildError(f"publish failed, clients see the previous build: {exc}") from None
        print(f"published: {len(loads)} scenario load(s), switched in {seconds * 1000:.0f} ms")
    return 0


def fresh_artifact(name: str, since: float) -> dict:
    """target/<name> if this invocation wrote it (not a previous run's file), else {}."""
    path = target_path() / name
    if not path.exists() or path.stat().st_mtime < since:
        return {}
    return json.loads(path.read_text())


def run_dbt_recorded(
    args: list[str],
    db: DatabaseUrl,
    *,
    quiet: bool = False,
    extra: list[str] | None = None,
    label: str | None = None,
) -> tuple[int, dict]:
    """Run dbt and land its run results in ops; returns (exit code, results).

    `extra` arguments (e.g. --vars) are passed to dbt but not recorded in the
    command (ops.dbt_runs.command names what was built)."""
    import time

    from ingest import ops

    started = time.time() - 1  # file mtimes may be coarser than the clock
    code = run_dbt([*args, *(extra or [])], db, quiet=quiet)
    freshness = args[:2] == ["source", "freshness"]
    artifact = fresh_artifact("sources.json" if freshness else "run_results.json", started)
    if code != 0 and guard.ping(db, 5.0):
        return code, artifact  # the database is gone: nothing can be recorded
    ops.record_dbt_invocation(db, label or " ".join(args), code, artifact)
    return code, artifact


def check_source_freshness(db: DatabaseUrl, extra: list[str] | None = None) -> str:
    """`dbt source freshness` for the raw sources: recorded in ops, reported in one line.

    Never fails the build: stale data is a reason to load, not to stop serving.
    Returns the worst status (pass, warn, error or runtime error).
    """
    from ingest import ops

    conn = ops.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute("select to_regclass(%s) is not null", (dss_loads.TABLE,))
            landed = cur.fetchone()[0]
    finally:
        conn.close()
    if not landed:
        print(f"source freshness: nothing loaded yet (no {dss_loads.TABLE})")
        return "pass"
    code, artifact = run_dbt_recorded(["source", "freshness"], db, quiet=True, extra=extra)
    results = artifact.get("results", [])
    order = ["pass", "warn", "error", "runtime error"]
    statuses = [r.get("status") if r.get("status") in order else "error" for r in results]
    worst = max(statuses, key=order.index, default="error")
    if code != 0 and worst == "pass":
        worst = "error"
    if worst == "pass":
        print(f"source freshness: {len(results)} source table(s) fresh")
    else:
        stale = [r["unique_id"].split(".", 2)[-1] for r in results if r.get("status") != "pass"]
        print(
            f"coeqwal: warning: source freshness {worst}: {', '.join(stale) or 'no result'}",
            file=sys.stderr,
        )
    return worst
