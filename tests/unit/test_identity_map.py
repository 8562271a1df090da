"""The identity map a unit of work decides over: copies in and out, undo in memory, what changed."""

from __future__ import annotations

from dataclasses import dataclass

from service.adapters.identity_map import Journal, Rows


@dataclass
class Row:
    key: str
    group: str
    value: int = 0


def rows() -> tuple[Rows[Row], Journal]:
    journal = Journal()
    return Rows(lambda r: r.key, journal, {"group": lambda r: r.group}), journal


def test_get_hands_out_a_copy_so_an_unsaved_change_leaves_no_trace() -> None:
    table, _ = rows()
    table.absorb([Row("a", "g", 1)])

    mine = table.get("a")
    assert mine is not None
    mine.value = 99

    assert table.get("a") == Row("a", "g", 1)
    assert table.changed() == []


def test_a_saved_row_is_changed_and_a_loaded_row_that_was_not_saved_is_not() -> None:
    table, _ = rows()
    table.absorb([Row("a", "g", 1), Row("b", "g", 2)])

    table.save(Row("a", "g", 5))
    table.save(Row("c", "h", 7))

    assert table.changed() == [Row("a", "g", 5), Row("c", "h", 7)]


def test_undo_puts_back_every_save_since_the_mark_and_the_indexes_with_them() -> None:
    table, journal = rows()
    table.absorb([Row("a", "g", 1)])
    table.save(Row("b", "g", 2))
    mark = journal.mark()

    table.save(Row("a", "moved", 3))
    table.save(Row("c", "g", 4))
    journal.undo_to(mark)

    assert table.get("a") == Row("a", "g", 1)
    assert not table.knows("c")
    assert sorted(r.key for r in table.indexed("group", "g")) == ["a", "b"]
    assert table.indexed("group", "moved") == []
    assert table.changed() == [Row("b", "g", 2)]


def test_a_row_read_again_from_the_database_never_overwrites_the_one_held() -> None:
    table, _ = rows()
    table.absorb([Row("a", "g", 1)])
    table.save(Row("a", "g", 2))

    table.absorb([Row("a", "g", 1)])

    assert table.get("a") == Row("a", "g", 2)


def test_known_absent_rows_are_known_and_none() -> None:
    table, _ = rows()
    table.absent(["x"])

    assert table.knows("x")
    assert table.get("x") is None
    assert table.changed() == []
