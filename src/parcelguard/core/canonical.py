"""Canonical JSON (RFC 8785, JCS) for the values parcelguard signs and hashes.

Events hold strings, integers, booleans, null, arrays and objects with ASCII keys.
For that domain orjson with sorted keys emits exactly the JCS bytes (same key order,
no whitespace, the same minimal string escaping, integers as-is), at C speed. Floats
are where JCS and orjson could part ways (ES6 number formatting), so documents with
floats go through the reference ``rfc8785`` rules implemented in ``_jcs_float``.
"""

from __future__ import annotations

from typing import Any

import orjson

_OPTS = orjson.OPT_SORT_KEYS


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


def _has_non_ascii_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(not k.isascii() or _has_non_ascii_key(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_non_ascii_key(v) for v in value)
    return False


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value."""
    if _has_float(value) or _has_non_ascii_key(value):
        import rfc8785

        return rfc8785.dumps(value)
    return orjson.dumps(value, option=_OPTS)


def canonical_json_fast(value: dict[str, Any]) -> bytes:
    """Canonical bytes for a dict already known to hold no floats and only ASCII
    keys (validated events): skips the domain checks on the ingest hot path."""
    return orjson.dumps(value, option=_OPTS)
