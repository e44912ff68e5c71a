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


def run_results() -> dict:
    path = PROJECT_ROOT / "target" / "run_results.json"
    return json.loads(path.read_text()) if path.exists() else {}


def summarize(results: dict) -> str:
    counts: dict[str, int] = {}
    for res in results.get("results", []):
        counts[res["status"]] = counts.get(res["status"], 0) + 1
    elapsed = results.get("elapsed_time", 0.0)
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return f"dbt build: {parts} in {elapsed:.1f} s"


def run_dbt_build(select: str | None = None, db: DatabaseUrl | None = None) -> int:
    """dbt build (which loads the seeds first); raise BuildError with one line on failure."""
    db = db or active_database()
    for args in (["build"],):
        if select:
            args = [*args, "--select", select]
        code = run_dbt(args, db)
        if code != 0:
            failed = [
                f"{r['unique_id']}: {(r.get('message') or '').strip().splitlines()[0:1]}"
                for r in run_results().get("results", [])
                if r["status"] in ("error", "fail")
            ]
            first = failed[0] if failed else f"exit code {code}"
            raise BuildError(f"dbt {args[0]} failed ({len(failed)} node(s)); first: {first}")
    print(summarize(run_results()))
    return 0
