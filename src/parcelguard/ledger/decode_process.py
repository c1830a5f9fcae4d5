"""A file ingest's decoding, one batch ahead, in a process of its own.

Ingest spends about a fifth of its time reading lines and decoding them against the
contract, and the rest storing them. In one process the two run one after the
other, and a thread does not overlap them: the SQLite driver hands the interpreter
lock back and forth at every row, so a decoding thread made each row wait for it
(4,199 events/s when tried), and on PostgreSQL the thread's decoding still competed
with the COPY for the lock. A process decodes on another core. The parent receives
each batch already decoded, as msgpack (about 0.6 us an event to unpack, against
about 4 to decode), and stores it while the child decodes the next.

Frames on the child's stdout: a 4-byte little-endian length, then one msgpack
``_Batch``, ``_Failure`` or ``_Done``. A thread of the parent reads and unpacks the
frames, one ahead of the batch being stored; the pipe holds little, so the child
is never more than about two batches ahead (memory: about four batches in all). If
the parent dies (kill -9 included) the child's next write fails and it exits; if
the parent stops early (a failed batch), it kills the child. A child that ends
without ``_Done`` is an error, never a short file.

Run as ``python -m parcelguard.ledger.decode_process PATH MAX_LINE_BYTES BATCH``; it
imports the contract and the file readers only (about 0.15 s to start).
"""

from __future__ import annotations

import contextlib
import gc
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Generator
from pathlib import Path
from typing import IO

import msgspec

import parcelguard
from parcelguard.core.errors import InvalidInput
from parcelguard.ledger.decode import Decoded, Rejected, decode_batch
from parcelguard.ledger.files import read_events_file


class _Batch(msgspec.Struct, tag=True, array_like=True, gc=False):
    lines: int  # lines read, decoded or not
    decoded: list[Decoded]
    rejected: list[Rejected]
    # The rejected lines as read, for the rejects file (not those that could not even
    # be read as bytes: an over-long line, a Parquet row that is not JSON).
    raw: dict[int, bytes]


class _Failure(msgspec.Struct, tag=True, array_like=True):
    """The file could not be read on (what was sent before it is good)."""

    kind: str  # "invalid_input" or "os_error"
    message: str
    errno: int | None = None
    filename: str | None = None


class _Done(msgspec.Struct, tag=True, array_like=True):
    pass


_HEADER = 4
_frame_decoder = msgspec.msgpack.Decoder(_Batch | _Failure | _Done)

DecodedBatch = tuple[int, list[Decoded], list[Rejected], dict[int, bytes]]


def decoded_batches(path: Path, *, max_line_bytes: int,
                    batch_size: int) -> Generator[DecodedBatch, None, None]:
    """Each batch of ``path`` as (lines read, decoded events, rejected lines, the
    rejected lines as read), decoded by a child process one batch ahead. A failure
    to read the file is raised here after the batches before it; closing the
    generator early stops the child."""
    # The child imports the very parcelguard this process runs, wherever it is.
    env = dict(os.environ)
    root = str(Path(parcelguard.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    child = subprocess.Popen(  # noqa: S603 (our own module, by sys.executable)
        [sys.executable, "-m", "parcelguard.ledger.decode_process", str(path),
         str(max_line_bytes), str(batch_size)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env)
    assert child.stdout is not None
    stdout = child.stdout
    # A thread reads and unpacks the next frame while this one stores the batch: it
    # waits on the pipe without the interpreter lock, and the unpacking (about 0.6 us
    # an event) fits where the storing waits on the database.
    frames: queue.Queue[_Batch | _Failure | _Done | BaseException | None] = queue.Queue(1)

    def read_ahead() -> None:
        try:
            while True:
                frame = _read_frame(stdout)
                frames.put(frame)
                if not isinstance(frame, _Batch):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            frames.put(exc)

    reader = threading.Thread(target=read_ahead, name="ingest-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            frame = frames.get()
            if isinstance(frame, BaseException):
                raise frame
            if frame is None:
                status = child.wait()
                raise RuntimeError(f"the decoding process ended before the end of {path} "
                                   f"(exit status {status}); nothing after the last "
                                   "stored batch was lost: run the ingest again")
            if isinstance(frame, _Done):
                return
            if isinstance(frame, _Failure):
                if frame.kind == "os_error":
                    raise OSError(frame.errno, frame.message, frame.filename)
                raise InvalidInput(frame.message)
            yield frame.lines, frame.decoded, frame.rejected, frame.raw
    finally:
        if child.poll() is None:
            child.kill()
        # The killed child's pipe ends, so the reader's last frame is an end: take
        # what it put until it stops.
        while reader.is_alive():
            with contextlib.suppress(queue.Empty):
                frames.get(timeout=0.1)
        child.wait()
        stdout.close()


def _read_frame(stream: IO[bytes]) -> _Batch | _Failure | _Done | None:
    header = stream.read(_HEADER)
    if len(header) < _HEADER:
        return None
    size = int.from_bytes(header, "little")
    body = stream.read(size)
    if len(body) < size:
        return None
    return _frame_decoder.decode(body)


def _child(path: Path, max_line_bytes: int, batch_size: int) -> None:
    # Ctrl-C reaches the whole process group: the parent decides, and kills this one.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()  # a batch's objects hold no cycles; they go when the frame is sent
    out = os.fdopen(sys.stdout.fileno(), "wb")
    encode = msgspec.msgpack.Encoder().encode

    def send(frame: _Batch | _Failure | _Done) -> None:
        body = encode(frame)
        out.write(len(body).to_bytes(_HEADER, "little"))
        out.write(body)
        out.flush()

    try:
        try:
            for batch in read_events_file(path, max_line_bytes=max_line_bytes,
                                          batch_size=batch_size):
                rejected: list[Rejected] = []
                decoded = decode_batch(batch, rejected, max_line_bytes=max_line_bytes)
                raw: dict[int, bytes] = {}
                if rejected:
                    by_line = dict(batch)
                    raw = {r.line_no: line for r in rejected
                           if isinstance(line := by_line[r.line_no], bytes)}
                send(_Batch(len(batch), decoded, rejected, raw))
        except InvalidInput as exc:
            send(_Failure("invalid_input", exc.message))
            return
        except OSError as exc:
            if isinstance(exc, BrokenPipeError):
                raise
            send(_Failure("os_error", exc.strerror or str(exc), exc.errno,
                          None if exc.filename is None else str(exc.filename)))
            return
        send(_Done())
    except BrokenPipeError:
        # The parent is gone (killed, or it stopped reading): nothing to report to.
        os._exit(0)


if __name__ == "__main__":
    _child(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
