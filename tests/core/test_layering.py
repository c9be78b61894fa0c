"""core/ is the leaf every package imports, and the gateway (api/) does not reach into the CLI package (fengqiao/)."""

from __future__ import annotations

import ast

import pytest

from core.settings import PROJECT_ROOT

PACKAGES = ("core", "api", "actions", "knowledge_base", "fengqiao")


def imported_packages(package: str) -> dict[str, set[str]]:
    """Top-level packages of this project each module of `package` imports (lazily or not), by file."""
    found: dict[str, set[str]] = {}
    for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[path.relative_to(PROJECT_ROOT).as_posix()] = names & set(PACKAGES)
    return found


def test_core_imports_no_other_package():
    wrong = {f: names - {"core"} for f, names in imported_packages("core").items() if names - {"core"}}
    assert wrong == {}


@pytest.mark.parametrize("package", ["api", "actions", "knowledge_base", "fengqiao"])
def test_settings_live_in_core_only(package):
    assert not (PROJECT_ROOT / "fengqiao" / "settings.py").exists()
    assert all(
        "fengqiao.settings" not in (PROJECT_ROOT / f).read_text(encoding="utf-8")
        for f in imported_packages(package)
    )


def test_the_gateway_imports_nothing_from_the_cli_package():
    wrong = {f: names for f, names in imported_packages("api").items() if "fengqiao" in names}
    assert wrong == {}
