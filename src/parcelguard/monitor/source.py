"""Reading event streams for the monitor: files (JSONL or Parquet) for replay, and
the ledger's per-enterprise logs by position for the embedded runner."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import msgspec

from parcelguard.monitor.model import TIME_CACHE, Ev, decoder, epoch_us


class BadEvent(ValueError):
    """A line the monitor cannot read (the message names the line, never its value)."""


def read_lines(path: Path) -> list[bytes]:
    """Non-blank lines of a JSONL file. One read and a C-level split: per-line file
    iteration costs more than decoding."""
    data = path.read_bytes()
    return [ln for ln in data.split(b"\n") if ln.strip()]


def decode_lines(lines: list[bytes], *, first_line: int = 1) -> list[Ev]:
    decode = decoder.decode
    out: list[Ev] = []
    append = out.append
    for i, raw in enumerate(lines):
        try:
            append(decode(raw))
        except msgspec.DecodeError as exc:
            raise BadEvent(f"line {first_line + i}: not an event the monitor can read "
                           f"({type(exc).__name__})") from None
    return out


def read_parquet(path: Path) -> list[Ev]:
    """Parquet cannot tell an absent field from a null one; both mean absent."""
    import pyarrow.parquet as pq

    out: list[Ev] = []
    for batch in pq.ParquetFile(path).iter_batches(batch_size=50_000):
        for row in batch.to_pylist():
            doc = {k: v for k, v in row.items() if v is not None}
            try:
                out.append(msgspec.convert(doc, Ev))
            except msgspec.ValidationError as exc:
                raise BadEvent(f"row {len(out) + 1}: not an event the monitor can read "
                               f"({type(exc).__name__})") from None
    return out


def read_events(path: Path) -> tuple[list[Ev], list[int]]:
    """Every event of a JSONL or Parquet file, or of a directory of them (in name
    order), or of a supervision node's national store (monitor/national.py: by
    enterprise, each in log order), in event-time order, with their times (UTC
    microseconds). Events of the same instant keep file order (an assignment logged
    before the reveal it allows stays before it)."""
    from parcelguard.monitor.national import is_national, read_national

    if is_national(path):  # a supervision node's Parquet partitions of mirrored entries
        return time_ordered(decode_lines(read_national(path)))
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.suffix.lower() in {".jsonl", ".json", ".ndjson", ".parquet", ".pq"})
        events = [ev for f in files for ev in _read_file(f)]
    else:
        events = _read_file(path)
    return time_ordered(events)


def read_jsonl(path: Path, block: int = 1 << 24) -> list[Ev]:
    """Decode a JSONL file block by block, so the raw text is never all in memory
    next to the decoded events."""
    out: list[Ev] = []
    rest = b""
    line_no = 1
    with path.open("rb") as fh:
        while True:
            data = fh.read(block)
            lines = (rest + data).split(b"\n")
            rest = lines.pop() if data else b""
            lines = [ln for ln in lines if ln.strip()]
            out += decode_lines(lines, first_line=line_no)
            line_no += len(lines)
            if not data:
                return out


def _read_file(path: Path) -> list[Ev]:
    if path.suffix.lower() in {".parquet", ".pq"}:
        return read_parquet(path)
    return read_jsonl(path)


def time_ordered(events: list[Ev]) -> tuple[list[Ev], list[int]]:
    try:
        ts = _times(events)
    except ValueError:
        raise BadEvent("an occurred_at is not an RFC 3339 time with an offset") from None
    if all(a <= b for a, b in itertools.pairwise(ts)):
        return events, ts  # the usual case: the feed is already in order
    order = sorted(range(len(events)), key=ts.__getitem__)  # stable
    return [events[i] for i in order], [ts[i] for i in order]


def _times(events: list[Ev]) -> list[int]:
    """epoch_us of every event; the cache lookup is inlined (a million calls)."""
    get = TIME_CACHE.get
    out: list[int] = []
    append = out.append
    for ev in events:
        t = get(ev.occurred_at)
        append(t if t is not None else epoch_us(ev.occurred_at))
    return out


def batches(events: list[Ev], size: int) -> Iterator[list[Ev]]:
    for i in range(0, len(events), size):
        yield events[i:i + size]
