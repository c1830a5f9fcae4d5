"""Fixtures of the consent integration tests (see consent_world.py)."""

from __future__ import annotations

import pytest
from consent_world import World, make_world
from sqlalchemy.orm import Session


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)
