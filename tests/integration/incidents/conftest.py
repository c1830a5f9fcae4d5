"""Fixtures of the incidents integration tests (see incidents_world.py)."""

from __future__ import annotations

import pytest
from incidents_world import World, make_world
from sqlalchemy.orm import Session


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)
