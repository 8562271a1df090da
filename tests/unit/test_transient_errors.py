"""Which database errors the consumer retries (the database could not serve anyone just then)
and which it dead-letters (this command cannot succeed): ``is_transient``, by SQLSTATE.

The real server's refusal while it shuts down is in ``tests/integration/test_database_outage.py``.
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from service.adapters.database import is_transient


class DriverError(Exception):
    """What SQLAlchemy's asyncpg dialect puts in ``DBAPIError.orig``: the message and ``sqlstate``."""

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def database_error(sqlstate: str | None, message: str = "refused") -> DBAPIError:
    return DBAPIError("SELECT 1", None, DriverError(message, sqlstate))


@pytest.mark.parametrize(
    ("sqlstate", "what"),
    [
        ("57P03", "the database system is shutting down (or starting up): cannot connect now"),
        ("57P01", "terminating connection due to administrator command"),
        ("57P02", "terminating connection because of crash of another server process"),
        ("08006", "connection failure"),
        ("08001", "unable to establish a connection"),
        ("25006", "cannot execute INSERT in a read-only transaction: a standby during a failover"),
        ("53300", "too many connections"),
        ("53100", "disk full"),
        ("58030", "I/O error"),
        ("40001", "serialization failure"),
        ("40P01", "deadlock detected"),
        ("55P03", "lock not available"),
    ],
)
def test_a_database_that_cannot_serve_anyone_just_then_is_retried(sqlstate: str, what: str) -> None:
    assert is_transient(database_error(sqlstate, what))


@pytest.mark.parametrize(
    ("sqlstate", "what"),
    [
        ("23505", "duplicate key value"),
        ("22001", "value too long"),
        ("08P01", "protocol violation: the same statement would meet it again"),
        ("57014", "canceling statement due to statement timeout"),
        ("42P01", "relation does not exist"),
        (None, "no SQLSTATE at all"),
    ],
)
def test_an_error_the_same_command_would_meet_again_is_not_retried(sqlstate: str | None, what: str) -> None:
    assert not is_transient(database_error(sqlstate, what))


def test_an_integrity_error_is_permanent_even_on_a_connection_that_stays() -> None:
    assert not is_transient(IntegrityError("INSERT", None, DriverError("duplicate", "23505")))


def test_a_connection_the_driver_invalidated_is_retried_whatever_its_sqlstate() -> None:
    error = DBAPIError("SELECT 1", None, DriverError("gone", None), connection_invalidated=True)
    assert is_transient(error)
