"""`make docs`: the dbt docs site (target/index.html, manifest.json, catalog.json).

Serve it with `dbt docs serve --profiles-dir .` or any static file server over
`target/`.
"""

from __future__ import annotations

import sys

from ingest.build import run_dbt
from ingest.config import PROJECT_ROOT


def main() -> int:
    code = run_dbt(["docs", "generate"])
    if code == 0:
        print(f"docs site: {PROJECT_ROOT / 'target' / 'index.html'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
