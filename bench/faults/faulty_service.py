"""``python -m bench.faults.faulty_service serve``: the service with one injected handler fault.

T5 needs "a command whose handler raises": a ``RegisterPartner`` whose name starts with
``CHAOS-RAISE`` makes its use case raise ``RuntimeError``, as a bug would. Everything else
is the real service, built by the same composition root as ``partnerlink serve``
(``service.cli.serve`` with the ``use_cases`` override); nothing of this exists in the product.
"""

from __future__ import annotations

import sys
from typing import Any

from service.cli import serve
from service.usecases import USE_CASES, UseCase

FAULT_MARKER = "CHAOS-RAISE"


def faulty_use_cases() -> dict[str, UseCase]:
    """Every use case, the ``RegisterPartner`` one wrapped to raise on ``FAULT_MARKER``."""
    original = USE_CASES["RegisterPartner"]

    async def failing(command: Any, *args: Any) -> Any:
        if str(getattr(command, "name", "")).startswith(FAULT_MARKER):
            raise RuntimeError("injected handler failure (bench.faults.faulty_service)")
        return await original(command, *args)

    return {**USE_CASES, "RegisterPartner": failing}


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        print("usage: python -m bench.faults.faulty_service serve", file=sys.stderr)
        sys.exit(2)
    sys.exit(serve(faulty_use_cases()))
