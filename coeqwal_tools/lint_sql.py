"""`make lint` for SQL: SQLFluff with the dbt templater over the dbt project.

The dbt templater compiles the project, and compiling a model with an enforced
contract asks the database for the query's column types, so linting runs
against the active database (`make lint` starts the embedded one first). A
file dbt cannot compile there is skipped by SQLFluff: that fails the lint too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ingest.build import dbt_env, write_profile
from ingest.config import PROJECT_ROOT, active_database

SQL_PATHS = ["models", "analyses", "tests/dbt"]


def main(argv: list[str] | None = None) -> int:
    """Lint the given paths (default: the whole project)."""
    write_profile()
    env = dbt_env(active_database())
    paths = list(argv if argv is not None else sys.argv[1:])
    paths = paths or [p for p in SQL_PATHS if (PROJECT_ROOT / p).exists()]
    sqlfluff = Path(sys.executable).parent / "sqlfluff"
    cmd = [str(sqlfluff), "lint", *paths, "--disable-progress-bar"]
    proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    # A file dbt could not compile is skipped with a warning, and so not linted.
    skipped = [line for line in (proc.stdout + proc.stderr).splitlines() if "Skipped file" in line]
    if skipped:
        print(f"lint_sql: {len(skipped)} file(s) not linted (dbt could not compile them)")
        return proc.returncode or 1
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
