"""`coeqwal build`: dbt build (seeds, models, tests) against the active database.

Writes `profiles.yml` (from `profiles.example.yml`, which reads env vars) and runs
dbt with the COEQWAL_PG* variables set from the active database, so the same
project builds on the embedded cluster, in CI and on RDS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ingest.config import PROJECT_ROOT, DatabaseUrl, active_database


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


def run_dbt(args: list[str], db: DatabaseUrl | None = None, *, quiet: bool = False) -> int:
    """Run one dbt command in the project with the active database's profile."""
    db = db or active_database()
    write_profile()
    cmd = [dbt_executable(), *args, "--project-dir", str(PROJECT_ROOT)]
    proc = subprocess.run(
        cmd,
        cwd=PROJECT_ROOT,
        env=dbt_env(db),
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
        text=True,
    )
    if proc.returncode != 0 and quiet and proc.stdout:
        sys.stdout.write(proc.stdout)
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


def run_dbt_build(select: str | None = None, db: DatabaseUrl | None = None) -> int:
    """dbt build (which loads the seeds first); raise BuildError with one line on failure.

    Every build, failed or not, is recorded in ops.dbt_runs / ops.dbt_node_results,
    and `dbt source freshness` runs after it (recorded, never failing the build).
    """
    from ingest import ops

    db = db or active_database()
    ops.ensure_ops_tables(db)
    for args in (["build"],):
        if select:
            args = [*args, "--select", select]
        code, results = run_dbt_recorded(args, db)
        if code != 0:
            failed = [
                f"{r['unique_id']}: {(r.get('message') or '').strip().splitlines()[0:1]}"
                for r in results.get("results", [])
                if r["status"] in ("error", "fail")
            ]
            first = failed[0] if failed else f"exit code {code}"
            check_source_freshness(db)
            raise BuildError(f"dbt {args[0]} failed ({len(failed)} node(s)); first: {first}")
    print(summarize(results))
    check_source_freshness(db)
    return 0


def fresh_artifact(name: str, since: float) -> dict:
    """target/<name> if this invocation wrote it (not a previous run's file), else {}."""
    path = target_path() / name
    if not path.exists() or path.stat().st_mtime < since:
        return {}
    return json.loads(path.read_text())


def run_dbt_recorded(args: list[str], db: DatabaseUrl, *, quiet: bool = False) -> tuple[int, dict]:
    """Run dbt and land its run results in ops (issue 9); returns (exit code, results)."""
    import time

    from ingest import ops

    started = time.time() - 1  # file mtimes may be coarser than the clock
    code = run_dbt(args, db, quiet=quiet)
    freshness = args[:2] == ["source", "freshness"]
    artifact = fresh_artifact("sources.json" if freshness else "run_results.json", started)
    ops.record_dbt_invocation(db, " ".join(args), code, artifact)
    return code, artifact


def check_source_freshness(db: DatabaseUrl) -> str:
    """`dbt source freshness` for the raw sources: recorded in ops, reported in one line.

    Never fails the build: stale data is a reason to load, not to stop serving.
    Returns the worst status (pass, warn, error or runtime error).
    """
    code, artifact = run_dbt_recorded(["source", "freshness"], db, quiet=True)
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
