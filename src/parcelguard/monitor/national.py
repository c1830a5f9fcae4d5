"""The supervision node's national store: mirrored entries as Parquet, partitioned
by (enterprise, day), for the national analytics (``parcelguard monitor spark``).

    <node home>/national/enterprise=<id>/day=<YYYY-MM-DD>/part-<first seq>.parquet
    <node home>/national/_mirrored/<id>.json      how far each enterprise is exported

The mirror (supervision/mirror.py) hands every chunk of entries it has verified and
committed to ``NationalStore.append``; a chunk becomes one file per day it covers.
Each row is one mirrored entry and nothing else: the log position (``seq``), the
entry exactly as the log holds it (``entry``, the canonical JSON of a contract event,
which holds ids and never PI) and its time in UTC microseconds (``t_us``, read from
the entry's ``occurred_at``); the partition values are the enterprise and the local
day of that time (``MonitorSettings.day_offset_hours``). So the Parquet holds what the
mirror's database holds, no more.

Files are written under a hidden temporary name and renamed, and the export mark
(``_mirrored/<id>.json``) moves only after a chunk's files are all in place. A
process that dies in between leaves files the mark does not count: the next pass
(``catch_up``) deletes them and writes the entries again from the mirror's database,
so a row is never missing nor there twice. Spark skips names starting with ``_`` or
``.``, so neither the marks nor a half-written file is ever read as data. One writer
at a time: an exclusive lock on ``_lock`` (a `node mirror` by hand next to the
serving node's loop waits its turn).
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import msgspec

from parcelguard.monitor.model import DAY_US, HOUR_US, epoch_us

NATIONAL_DIR = "national"
MARKS = "_mirrored"
_PART = re.compile(r"part-([0-9]{12})\.parquet")
# Entries read back from the mirror's database per catch-up step.
CATCH_UP_STEP = 16 * 256


def parquet_schema() -> Any:
    import pyarrow as pa

    return pa.schema([("seq", pa.int64()), ("t_us", pa.int64()), ("entry", pa.string())])


# The schema Spark reads the partitions with (partition columns last).
SPARK_SCHEMA = "seq long, t_us long, entry string, enterprise string, day string"


class _Timed(msgspec.Struct):
    occurred_at: str


_timed = msgspec.json.Decoder(_Timed)


def _time_of(entry: bytes) -> int:
    try:
        return epoch_us(_timed.decode(entry).occurred_at)
    except (msgspec.DecodeError, ValueError):
        # the message names no value: an entry is not to be echoed into a log
        raise ValueError("a mirrored entry has no readable occurred_at") from None


@functools.cache
def _day_name(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=day)).isoformat()


def day_of(t_us: int, offset_hours: int) -> str:
    """The local day (YYYY-MM-DD) of a UTC time, at the monitor's day offset."""
    return _day_name((t_us + offset_hours * HOUR_US) // DAY_US)


def enterprise_dir(enterprise_id: str) -> str:
    """The partition directory name (escaped the way Spark unescapes it)."""
    return "enterprise=" + quote(enterprise_id, safe="")


class NationalStore:
    """The Parquet partitions under ``root`` (a supervision node's ``national/``)."""

    def __init__(self, root: Path, day_offset_hours: int = 8) -> None:
        self.root = root
        self.offset = day_offset_hours
        import pyarrow.parquet  # noqa: F401  (once, now: not in the first chunk's time)

    # --- reading ----------------------------------------------------------------------

    def exported(self, enterprise_id: str) -> int:
        """Entries of this enterprise's log exported so far (a prefix of the log)."""
        path = self._mark(enterprise_id)
        if not path.is_file():
            return 0
        return int(json.loads(path.read_text())["size"])

    def enterprises(self) -> list[str]:
        return sorted(unquote(p.name.removeprefix("enterprise="))
                      for p in self.root.glob("enterprise=*") if p.is_dir())

    def files(self, enterprise_id: str) -> list[Path]:
        """This enterprise's data files, in log order."""
        found = []
        for p in (self.root / enterprise_dir(enterprise_id)).glob("day=*/part-*.parquet"):
            m = _PART.fullmatch(p.name)
            if m:
                found.append((int(m.group(1)), p.parent.name, p))
        return [p for *_, p in sorted(found)]

    def rows(self, enterprise_id: str) -> list[dict[str, Any]]:
        """Every exported row of the enterprise with its day, in log order
        (``seq``), counted only up to the export mark."""
        import pyarrow.parquet as pq

        mark = self.exported(enterprise_id)
        out: list[dict[str, Any]] = []
        for path in self.files(enterprise_id):
            day = path.parent.name.removeprefix("day=")
            for row in pq.read_table(path).to_pylist():
                if row["seq"] < mark:
                    out.append({**row, "day": day})
        out.sort(key=lambda r: r["seq"])
        return out

    def entries(self, enterprise_id: str) -> list[bytes]:
        return [r["entry"].encode() for r in self.rows(enterprise_id)]

    # --- writing ----------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.root / "_lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def append(self, enterprise_id: str, start: int, entries: Sequence[bytes],
               read: Callable[[int, int], list[bytes]]) -> None:
        """Export entries [start, start + len) of the log (verified and committed by
        the mirror). When the export is behind ``start`` (an earlier write failed or
        the process died), the gap is read back with ``read(lo, hi)`` first."""
        with self.locked():
            mark = self.exported(enterprise_id)
            end = start + len(entries)
            if mark >= end:
                return  # another process exported them already
            if mark > start:  # in part (not with the mirror's chunking, but be safe)
                entries, start = entries[mark - start:], mark
            elif mark < start:
                self._catch_up(enterprise_id, mark, start, read)
            self._write(enterprise_id, start, entries)

    def catch_up(self, enterprise_id: str, size: int,
                 read: Callable[[int, int], list[bytes]]) -> int:
        """Export what the mirror holds beyond the mark, up to ``size``; returns the
        number of entries written."""
        with self.locked():
            mark = self.exported(enterprise_id)
            if mark >= size:
                return 0
            self._catch_up(enterprise_id, mark, size, read)
            return size - mark

    def _catch_up(self, enterprise_id: str, mark: int, size: int,
                  read: Callable[[int, int], list[bytes]]) -> None:
        for path in self.files(enterprise_id):  # written after the mark: not counted
            m = _PART.fullmatch(path.name)
            if m and int(m.group(1)) >= mark:
                path.unlink()
        for lo in range(mark, size, CATCH_UP_STEP):
            hi = min(size, lo + CATCH_UP_STEP)
            self._write(enterprise_id, lo, read(lo, hi))

    def _write(self, enterprise_id: str, start: int, entries: Sequence[bytes]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        by_day: dict[str, tuple[list[int], list[int], list[bytes]]] = {}
        offset = self.offset * HOUR_US
        for i, entry in enumerate(entries):
            t = _time_of(entry)
            seqs, ts, texts = by_day.setdefault(_day_name((t + offset) // DAY_US),
                                                ([], [], []))
            seqs.append(start + i)
            ts.append(t)
            texts.append(entry)  # UTF-8, checked by Arrow as it builds the string column
        base = self.root / enterprise_dir(enterprise_id)
        schema = parquet_schema()
        for day, (seqs, ts, texts) in by_day.items():
            folder = base / f"day={day}"
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            name = f"part-{start:012d}.parquet"
            tmp = folder / f".{name}.tmp"
            table = pa.Table.from_arrays([pa.array(seqs, pa.int64()), pa.array(ts, pa.int64()),
                                          pa.array(texts, pa.string())], schema=schema)
            pq.write_table(table, tmp, compression="zstd")
            os.chmod(tmp, 0o600)
            tmp.replace(folder / name)
        self._set_mark(enterprise_id, start + len(entries))

    def _mark(self, enterprise_id: str) -> Path:
        return self.root / MARKS / f"{quote(enterprise_id, safe='')}.json"

    def _set_mark(self, enterprise_id: str, size: int) -> None:
        path = self._mark(enterprise_id)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name("." + path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"enterprise_id": enterprise_id, "size": size}, f)
        tmp.replace(path)


def is_national(path: Path) -> bool:
    """A national store (partitioned Parquet), not a directory of event files."""
    return path.is_dir() and any(p.is_dir() for p in path.glob("enterprise=*"))


def read_national(root: Path) -> list[bytes]:
    """Every exported entry, enterprise by enterprise (in id order), each in log
    order: the order the embedded runner reads them in (it then sorts by time,
    keeping this order for events of the same instant, as the Spark runner does)."""
    store = NationalStore(root)
    return [e for ent in store.enterprises() for e in store.entries(ent)]
