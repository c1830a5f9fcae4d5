"""Canonical JSON (RFC 8785, JCS) for the values parcelguard signs and hashes.

Events hold strings, integers, booleans, null, arrays and objects with ASCII keys.
For that domain msgspec's encoder with sorted keys emits exactly the JCS bytes (same
key order for ASCII keys, no whitespace, the same minimal string escaping, integers
as-is), at C speed (1.4x orjson's sorted dump on the simulator's events,
bench/bench_json.py; orjson is no longer a dependency). Floats and non-ASCII keys are
where the two could part ways (ES6 number formatting, UTF-16 key order), so documents
with those go through the reference ``rfc8785`` implementation. The property tests
compare both paths against ``rfc8785`` on generated documents.
"""

from __future__ import annotations

from typing import Any

import msgspec

_encoder = msgspec.json.Encoder(order="sorted")
_decoder = msgspec.json.Decoder()


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
    return _encoder.encode(value)


def parse_json(raw: bytes) -> Any:
    """Parse JSON into plain Python values (the input to canonicalisation)."""
    return _decoder.decode(raw)
