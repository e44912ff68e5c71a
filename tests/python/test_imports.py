"""Every import of the project's own modules resolves, including the imports
inside functions (the CLI imports its commands lazily, so a module moved without
updating such an import would only fail when that command runs)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ingest", "coeqwal_tools")


def project_imports() -> list[tuple[str, int, str, str | None]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            where = str(path.relative_to(ROOT))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    if node.module.split(".")[0] in PACKAGES:
                        found += [
                            (where, node.lineno, node.module, alias.name) for alias in node.names
                        ]
                elif isinstance(node, ast.Import):
                    found += [
                        (where, node.lineno, alias.name, None)
                        for alias in node.names
                        if alias.name.split(".")[0] in PACKAGES
                    ]
    return found


def test_the_scan_sees_the_lazy_imports():
    imports = project_imports()
    # ingest/run.py imports the sample generator inside run_all.
    assert any(
        where == "ingest/run.py" and module.startswith("coeqwal_tools.sample")
        for where, _, module, _ in imports
    )
    assert len(imports) > 20


@pytest.mark.parametrize(("where", "line", "module", "name"), project_imports())
def test_project_import_resolves(where, line, module, name):
    imported = importlib.import_module(module)
    if name is not None and not hasattr(imported, name):
        importlib.import_module(f"{module}.{name}")
