"""Every table, so Alembic (and tests) see the whole schema: core's own (the outbox)
and each plugin's ``models`` modules (core/plugin.py)."""

import importlib

from parcelguard.core import outbox as _outbox  # noqa: F401 (core's tables)
from parcelguard.core.db import Base
from parcelguard.core.plugin import plugins

for _module in (m for p in plugins() for m in p.models):
    importlib.import_module(_module)

metadata = Base.metadata
