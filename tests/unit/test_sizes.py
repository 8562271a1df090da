"""No giants around the product (issue 16): in ``bench/``, ``tools/``, ``samples/`` and
``tests/``, no module over 400 lines and no function over 60, read exactly on the source with
``ast`` (a function's lines run from its ``def`` to its last statement, decorators aside).
A long scenario reads as named steps from ``tests/support``; a long module is split by what
its parts do."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("bench", "tools", "samples", "tests")
MODULE_LINES = 400
FUNCTION_LINES = 60


def sources() -> list[Path]:
    return sorted(
        path for folder in FOLDERS for path in (ROOT / folder).rglob("*.py") if "migrations" not in path.parts
    )


@pytest.mark.parametrize("folder", FOLDERS)
def test_no_module_over_400_lines(folder: str) -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in sources()
        if path.relative_to(ROOT).parts[0] == folder
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MODULE_LINES
    }
    assert long == {}, f"split these by what their parts do: {long}"


@pytest.mark.parametrize("folder", FOLDERS)
def test_no_function_over_60_lines(folder: str) -> None:
    long: dict[str, int] = {}
    for path in sources():
        if path.relative_to(ROOT).parts[0] != folder:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = lines
    assert long == {}, f"split these into named steps: {long}"
