"""``python -m bench.faults.faulty_service serve``: the service with one injected handler fault.

T5 needs "a command whose handler raises": a ``RegisterPartner`` whose name starts with
``CHAOS-RAISE`` makes its use case raise ``RuntimeError``, as a bug would. Everything else
is the real service; nothing of this exists in ``partnerlink serve``.
"""

from __future__ import annotations

import sys
from typing import Any

from service import usecases
from service.cli import main

FAULT_MARKER = "CHAOS-RAISE"


def inject() -> None:
    """Wrap the ``RegisterPartner`` use case (the command bus reads the same dict)."""
    original = usecases.HANDLERS["RegisterPartner"]

    async def failing(command: Any, *args: Any) -> Any:
        if str(getattr(command, "name", "")).startswith(FAULT_MARKER):
            raise RuntimeError("injected handler failure (bench.faults.faulty_service)")
        return await original(command, *args)

    usecases.HANDLERS["RegisterPartner"] = failing


if __name__ == "__main__":
    inject()
    sys.exit(main())
