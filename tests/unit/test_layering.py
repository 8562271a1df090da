"""Dependencies point inward: the domain is pure, the wire contract knows nothing of the service.

The layers are checked by ``import-linter`` with the contracts of pyproject's
``[tool.importlinter]`` (drawn in README.md, "Layers"): the product's layers, the contract
independent, the domain pure, use cases away from adapters and handlers, nothing of the
product importing ``bench``, ``tools``, ``samples`` or ``tests``, no cycles. The domain's
"standard library only" is also checked exactly on the source with ``ast`` (nothing is
imported), so a violation anywhere in a file is found, including imports inside functions or
``if TYPE_CHECKING:`` blocks.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "service" / "domain"
CONTRACTS = ROOT / "contracts"


def imported_modules(path: Path, root: Path = ROOT) -> list[str]:
    """Absolute names of the modules a file under ``root`` imports (relative imports resolved)."""
    package = path.relative_to(root).parts[:-1]
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                names.append(".".join([*base, node.module] if node.module else base))
            else:
                names.append(node.module or "")
    return names


def python_files(folder: Path) -> list[Path]:
    files = sorted(folder.rglob("*.py"))
    assert files, f"no Python files under {folder}"
    return files


def is_stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


@pytest.mark.parametrize("path", python_files(DOMAIN), ids=lambda p: p.name)
def test_domain_imports_only_the_standard_library_and_itself(path: Path) -> None:
    foreign = [
        name
        for name in imported_modules(path)
        if not (is_stdlib(name) or name == "service.domain" or name.startswith("service.domain."))
    ]

    assert foreign == [], f"{path.relative_to(ROOT)} imports {foreign}"


def contract_files() -> list[object]:
    return [pytest.param(path, id=path.name) for path in python_files(CONTRACTS)]


@pytest.mark.parametrize("path", contract_files())
def test_contracts_import_neither_the_service_nor_the_handlers(path: Path) -> None:
    inward = [name for name in imported_modules(path) if name.split(".")[0] in {"service", "handlers"}]

    assert inward == [], f"{path.relative_to(ROOT)} imports {inward}"


def test_importing_every_contracts_module_loads_no_service_module() -> None:
    script = (
        "import importlib, pkgutil, sys, contracts\n"
        "for info in pkgutil.walk_packages(contracts.__path__, 'contracts.'):\n"
        "    importlib.import_module(info.name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'service', 'handlers'}))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert result.stdout.strip() == "[]"


def test_import_scanner_resolves_relative_and_nested_imports(tmp_path: Path) -> None:
    package = tmp_path / "service" / "domain"
    package.mkdir(parents=True)
    source = package / "sample.py"
    source.write_text(
        "import json\nfrom .model import Partner\nfrom . import rules\ndef f():\n    import sqlalchemy\n",
        encoding="utf-8",
    )

    names = imported_modules(source, root=tmp_path)

    assert names == ["json", "service.domain.model", "service.domain", "sqlalchemy"]


@pytest.mark.parametrize(
    "name",
    [
        "relay.py",
        "consumer.py",
        "ports/__init__.py",
        "ports/unit_of_work.py",
        "ports/outbox_relay.py",
        "staging.py",
    ],
)
def test_the_relay_and_the_consumer_go_through_ports(name: str) -> None:
    """Issue 12, point 7: no SQL, no SQLAlchemy, no adapter in the application layer's loops;
    the storage, the renderer, the mailer and the error classification are injected."""
    foreign = [
        module
        for module in imported_modules(ROOT / "service" / name)
        if module.split(".")[0] == "sqlalchemy" or module.startswith("service.adapters")
    ]

    assert foreign == [], f"service/{name} imports {foreign}"


def test_import_linter_keeps_every_contract() -> None:
    """``lint-imports`` (no cache) over the repository: every contract of pyproject kept."""
    script = (
        "import sys\n"
        "from importlinter.cli import lint_imports\n"
        "sys.exit(lint_imports(no_cache=True, no_logo=True))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_module_of_the_service_has_a_layer() -> None:
    """The layers contract names every module and package directly under ``service/``, so a
    new one has to be placed (``import-linter`` ignores modules a layers contract omits)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in config["contracts"] if c["id"] == "layers"]
    named = {name.strip() for layer in layers for name in layer.split("|")}
    children = {
        f"service.{path.stem}"
        for path in (ROOT / "service").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }

    assert children - named == set(), "give these a layer in pyproject's [tool.importlinter]"
