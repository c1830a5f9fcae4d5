"""Finding a file ingest's decoding processes (ledger/decode_process.py) from a test."""

from __future__ import annotations

import os
from pathlib import Path


def decoders(src: Path) -> list[int]:
    """The decoding processes reading ``src`` (their command line names it)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0") if proc.name.isdigit() else []
        except OSError:  # it ended while we looked
            continue
        if b"parcelguard.ledger.decode_process" in argv and os.fsencode(src) in argv:
            pids.append(int(proc.name))
    return pids
