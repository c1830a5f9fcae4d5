"""One small world per test session: building it takes a fraction of a second, but
every simulation test reads the same one."""

from __future__ import annotations

import pytest
from sim_support import SMALL

from parcelguard.simulation.model import World
from parcelguard.simulation.world import build_world


@pytest.fixture(scope="session")
def small_world() -> World:
    return build_world(SMALL)
