"""How the app is served: what uvicorn trusts and what its access log keeps.

- Forwarded headers (``X-Forwarded-For``/``-Proto``) are trusted only from the proxies
  in ``http.forwarded_allow_ips`` (default none). uvicorn alone trusts 127.0.0.1, which
  let any local client choose the address that per-source throttles count.
- The access log keeps no client address (anonymous reporters' and consumers' raw IPs
  must not be stored; staff addresses are in their access events already), no query
  string (search terms, codes) and no one-time token in a path: every path parameter
  whose name says it is a secret (``token``, ``code``, ``secret``) is replaced by
  ``<redacted>``, found from the app's own route table so a new route is covered.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any, Final

import uvicorn
from fastapi import FastAPI, routing
from uvicorn.config import LOGGING_CONFIG

from parcelguard.core.settings import Settings

REDACTED: Final = "<redacted>"
_SECRET_PARAM: Final = re.compile(r"token|code|secret", re.IGNORECASE)
_PARAM: Final = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def secret_path_patterns(app: FastAPI) -> list[str]:
    """A regex per route with a secret path parameter; the secret is group ``s``."""
    patterns = set()
    for ctx in routing.iter_route_contexts(app.routes):
        path = getattr(ctx, "path", "")
        names = _PARAM.findall(path)
        if not any(_SECRET_PARAM.search(n) for n in names):
            continue
        regex, last = "", 0
        for m in _PARAM.finditer(path):
            regex += re.escape(path[last:m.start()])
            regex += "(?P<s>[^/]+)" if _SECRET_PARAM.search(m.group(1)) else "[^/]+"
            last = m.end()
            if _SECRET_PARAM.search(m.group(1)):
                # one secret per path: everything after it is redacted too
                regex += ".*"
                break
        else:
            regex += re.escape(path[last:])
        patterns.add(regex)
    return sorted(patterns)


class AccessLogRedaction(logging.Filter):
    """Rewrites uvicorn's access-log records (client, method, path, version, status)."""

    def __init__(self, patterns: list[str] | None = None) -> None:
        super().__init__()
        self.patterns = [re.compile(p) for p in patterns or []]

    def redact(self, full_path: str) -> str:
        path, sep, _ = full_path.partition("?")
        for pattern in self.patterns:
            m = pattern.fullmatch(path)
            if m is not None:
                path = path[:m.start("s")] + REDACTED
                break
        return path + (f"?{REDACTED}" if sep else "")

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            _, method, full_path, version, status = args
            record.args = ("-", method, self.redact(str(full_path)), version, status)
        return True


def log_config(app: FastAPI) -> dict[str, Any]:
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": AccessLogRedaction,
                                    "patterns": secret_path_patterns(app)}}
    config["loggers"]["uvicorn.access"]["filters"] = ["redact"]
    return config


def uvicorn_config(app: FastAPI, settings: Settings, *, host: str, port: int,
                   log_level: str = "info") -> uvicorn.Config:
    """The one way the app is served (``parcelguard serve`` and the served-app tests)."""
    proxies = settings.http.forwarded_allow_ips
    return uvicorn.Config(app, host=host, port=port, log_level=log_level,
                          log_config=log_config(app), proxy_headers=bool(proxies),
                          forwarded_allow_ips=",".join(proxies) if proxies else None,
                          server_header=False, ws="none")
