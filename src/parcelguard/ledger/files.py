"""Event files as batches of (line number, raw line): JSON Lines read in large blocks,
Parquet rows written as the JSON events they hold. What a line says is ingest's job
(decode.py); here only what can be read as bytes to decode, and why not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import msgspec

from parcelguard.core.errors import InvalidInput

_plain_json = msgspec.json.Encoder().encode

# (line number, raw line), or (line number, reason) for a line that could not even
# be read as bytes to decode (over-long, a Parquet row that is not JSON).
Lines = list[tuple[int, bytes | str]]


def too_long(max_line_bytes: int) -> str:
    return f"line longer than {max_line_bytes} bytes"


def read_jsonl(path: Path, *, max_line_bytes: int, batch_size: int) -> Iterator[Lines]:
    """Batches of (line number, raw line) for the non-blank lines; an over-long line
    comes as its reason, so the batch never holds it. Reads in large blocks and
    splits in C: per-line file iteration would cost more than decoding the events."""
    pending: Lines = []
    line_no = 0
    rest = b""
    with path.open("rb") as fh:
        while True:
            block = fh.read(1 << 22)
            if not block:
                lines = [rest] if rest else []
            else:
                lines = (rest + block).split(b"\n") if rest else block.split(b"\n")
                rest = lines.pop()
            if lines and max(map(len, lines)) > max_line_bytes:
                long = too_long(max_line_bytes)
                pending += [(n, long if len(ln) > max_line_bytes else ln)
                            for n, ln in enumerate(lines, line_no + 1)
                            if ln and not ln.isspace()]
            else:
                pending += [(n, ln) for n, ln in enumerate(lines, line_no + 1)
                            if ln and not ln.isspace()]
            line_no += len(lines)
            while len(pending) >= batch_size:
                yield pending[:batch_size]
                pending = pending[batch_size:]
            if not block:
                break
    if pending:
        yield pending


class _NotJson(TypeError):
    """A Parquet value with no JSON form."""


_MIN_INT, _MAX_INT = -(2**63), 2**64


def _json_value(value: Any) -> Any:
    """A Parquet row value as the JSON the Parquet reader has always written (it was
    orjson's, with naive times read as UTC): a timestamp is its RFC 3339 text with a
    numeric offset (``+00:00``, not msgspec's ``Z``: an event's times are stored as
    sent, so the same file ingested again must give the same leaf, a duplicate and not
    a conflict); binary, decimal, duration columns, nanosecond timestamps (pandas
    Timestamps) and integers past 64 bits have none and reject the row."""
    cls = value.__class__
    if cls is str or cls is bool or cls is float or value is None:
        return value
    if cls is int:
        if not _MIN_INT <= value < _MAX_INT:
            raise _NotJson
        return value
    if cls is datetime:
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()
    if cls is date or cls is dt_time:
        return value
    if cls is dict:
        return {k: _json_value(v) for k, v in value.items()}
    if cls is list or cls is tuple:
        return [_json_value(v) for v in value]
    raise _NotJson


def read_parquet(path: Path, *, batch_size: int) -> Iterator[Lines]:
    """Batches of Parquet rows as JSON. Parquet cannot tell an absent field from a
    null one, so null columns are treated as absent. A row JSON cannot hold (bytes,
    a decimal, a nanosecond timestamp: ``_json_value``) is a rejected row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    row_no = 0
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=batch_size)
        for batch in batches:
            out: Lines = []
            for row in batch.to_pylist():
                row_no += 1
                try:
                    out.append((row_no, _plain_json({k: _json_value(v) for k, v in row.items()
                                                     if v is not None})))
                except _NotJson:
                    out.append((row_no, "row cannot be represented as a JSON event"))
            yield out
    except (pa.ArrowException, OSError) as exc:
        # What was yielded before is stored; the rest of a damaged file cannot be read.
        raise InvalidInput(f"Parquet file unreadable after row {row_no}: "
                           f"{type(exc).__name__}") from None


def read_events_file(path: Path, *, max_line_bytes: int, batch_size: int) -> Iterator[Lines]:
    if path.suffix.lower() in {".parquet", ".pq"}:
        return read_parquet(path, batch_size=batch_size)
    return read_jsonl(path, max_line_bytes=max_line_bytes, batch_size=batch_size)
