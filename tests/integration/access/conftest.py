"""Fixtures of the access-gate integration tests (see access_world.py). The label,
virtual-number and data-subject-request tests moved here with their code use the
waybill and consent worlds instead, through a ``world`` fixture of their own."""

from __future__ import annotations

import pytest
from access_world import World, make_world
from sqlalchemy.orm import Session


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)
