"""The stand-in provider servers are written from PROTOCOLS.md: they import nothing from stac_bridge.

A stand-in that parsed queries or wrote pages with the code under test would agree with its bugs. This
follows the stand-ins' own imports among the test helpers too.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def test_standins_import_nothing_from_the_package() -> None:
    standins = sorted(TESTS.glob("*/standin.py"))
    assert len(standins) >= 5
    offenders: list[str] = []
    seen: set[Path] = set()
    todo = list(standins)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            if name == "stac_bridge" or name.startswith("stac_bridge."):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
            elif name.startswith("tests.") and (found := _module_file(name)) is not None:
                todo.append(found)
    assert not offenders, offenders
