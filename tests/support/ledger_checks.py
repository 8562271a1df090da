"""Invariants of an attribution ledger (``AttributionLedger``) that a test checks after every
change."""

from __future__ import annotations

from service.domain.attribution import AttributionLedger


def assert_sound_shape(book: AttributionLedger) -> None:
    """``entries`` strictly ordered by ``valid_from``, each interval non-empty and contiguous
    with the next, only the last open; ``current()`` is the last entry's value (or ``None``)."""
    starts = [entry.valid_from for entry in book.entries]
    assert starts == sorted(set(starts))
    for entry, following in zip(book.entries, book.entries[1:], strict=False):
        assert entry.valid_to == following.valid_from
        assert entry.valid_from < entry.valid_to
    assert all(entry.valid_to is not None for entry in book.entries[:-1])
    assert not book.entries or book.entries[-1].valid_to is None
    assert book.current() == (book.entries[-1].value if book.entries else None)
