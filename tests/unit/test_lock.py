"""``requirements.lock`` pins every requirement of ``pyproject.toml`` (every extra) to one exact
version inside the range pyproject allows, so README.md's install commands
(``pip install -c requirements.lock ...``) get what the tests passed on.

Refresh it with ``pip-compile`` (options in pyproject's ``[tool.pip-tools]``; README.md,
"Locked installs")."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).parents[2]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;#]+)")


def project_requirements() -> list[Requirement]:
    """Every requirement of pyproject.toml: dependencies and every extra, less the self-references."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += extra
    requirements = [Requirement(line) for line in lines]
    return [r for r in requirements if canonicalize_name(r.name) != canonicalize_name(project["name"])]


def lock_pins() -> dict[str, Version]:
    """name → pinned version of every ``name==version`` line of requirements.lock."""
    pins: dict[str, Version] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            pins[canonicalize_name(match["name"])] = Version(match["version"])
    return pins


def test_every_requirement_is_pinned_inside_its_range() -> None:
    pins = lock_pins()
    requirements = project_requirements()
    assert len(requirements) > 20, "could not read pyproject.toml's requirements"
    missing = sorted(r.name for r in requirements if canonicalize_name(r.name) not in pins)
    assert not missing, f"not in requirements.lock (run pip-compile): {missing}"
    outside = [
        f"{r.name}=={pins[canonicalize_name(r.name)]} (pyproject: {r.specifier})"
        for r in requirements
        if not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)
    ]
    assert not outside, f"pins outside pyproject's ranges (run pip-compile): {outside}"


def test_the_lock_is_a_plain_constraints_file() -> None:
    """Usable with ``pip install -c``: only ``name==version`` lines (no extras, URLs, editables
    or index options, which constraints files refuse or which would tie it to one machine)."""
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        content = line.split("#", 1)[0].strip()
        if content:
            assert PIN.match(content) and "[" not in content, f"not a plain pin: {line!r}"
