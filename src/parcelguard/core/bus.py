"""The message bus: domain events published after a commit go to the handlers
registered for their type. Cross-domain reactions (an alert opens an incident, a
sanction suspends access) are registered in one wiring module so the whole flow
reads in one place; domains never import each other to react."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

Handler = Callable[[object], None]


class MessageBus:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)
        self.wired = False  # set by the wiring module once it has registered handlers

    def register(self, event_type: type, handler: Handler) -> None:
        self._handlers[event_type].append(handler)

    def publish(self, events: Iterable[object]) -> None:
        """Run each event's handlers in registration order; a failing handler is
        logged (by event type, never payload) and does not stop the others."""
        for ev in events:
            for handler in self._handlers.get(type(ev), ()):
                try:
                    handler(ev)
                except Exception:
                    log.exception("handler %s failed for %s", handler, type(ev).__name__)
