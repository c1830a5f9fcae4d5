"""What a command or request runs with: settings, the clock and the database
(opened lazily, so commands that need no database start instantly)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from parcelguard.core.clock import Clock, SystemClock
from parcelguard.core.db import Database
from parcelguard.core.files import private_home
from parcelguard.core.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    # Called once with the database when it opens: core.plugin.register_handlers
    # gives the database its outbox dispatcher here.
    on_open: Callable[[Runtime], None] | None = None
    _db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            # never creates the home nor the database: `parcelguard init` does
            self._db = Database(self.settings)
            private_home(self.settings.home, self.settings.database_url)
            if self.on_open is not None:
                self.on_open(self)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None
