"""Tools around the product, not part of it (nor of its wheel): the demo (``python -m tools.demo``),
the dev stack (``python -m tools.dev``), the contract export (``python -m tools.contracts_export``)
and the embedded broker and SMTP catcher they and the tests use (``tools.embedded``, the
``embedded`` extra). Run them from the repository's root."""
