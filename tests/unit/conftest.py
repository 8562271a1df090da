"""Fixtures of the unit tests."""

from __future__ import annotations

import pytest

from tests.support.expiry import World, expiry_world
from tests.support.fake_bus import Harness, harness
from tests.support.gdap import Gdap, gdap


@pytest.fixture
def h() -> Harness:
    """The real bus and use cases on a fresh fake database, with a fixed clock."""
    return harness()


@pytest.fixture
def w() -> World:
    """The bus and the invitation expiry task on a fresh fake database, sharing one clock."""
    return expiry_world()


@pytest.fixture
def g() -> Gdap:
    """Admin relationships: the bus and the clock's sweeps on a fresh fake database."""
    return gdap()
