"""Storage faults in words an operator can act on.

SQLite, PostgreSQL and the filesystem report the same few faults in many forms
(``OperationalError: database or disk is full``, ``OSError(ENOSPC)``, ...). The entry
points hand any exception to :func:`as_storage_fault`; what it recognises becomes a
``StorageFault`` naming the fault, where, and the fix; anything else is a bug and
propagates unchanged.
"""

from __future__ import annotations

import errno
from pathlib import Path

from parcelguard.core.errors import StorageFault
from parcelguard.core.settings import Settings

# (substring of the driver's message, what it means, what to do)
_DRIVER_FAULTS = (
    ("database or disk is full", "the disk holding the store is full",
     "free space on that filesystem (or move the home), then run the command again; "
     "committed data is intact"),
    ("no space left on device", "the disk holding the store is full",
     "free space on that filesystem (or move the home), then run the command again; "
     "committed data is intact"),
    ("could not extend file", "the PostgreSQL server's disk is full",
     "free space on the database server, then run the command again"),
    ("attempt to write a readonly database", "the store is read-only",
     "this command writes: run it where the home is writable (read-only commands such "
     "as `ledger verify` work on a read-only home)"),
    ("read-only file system", "the store is on a read-only filesystem",
     "remount it read-write, or run only read-only commands"),
    ("file is not a database", "the database file is corrupt (not an SQLite database)",
     "restore the latest backup with `parcelguard restore`"),
    ("database disk image is malformed", "the database file is corrupt",
     "restore the latest backup with `parcelguard restore`"),
    ("disk i/o error", "the disk reported an I/O error",
     "check the disk (dmesg, SMART); restore the latest backup if the file is damaged"),
    ("unable to open database file", "the database file cannot be opened",
     "check that the home and its files are readable and writable by this user "
     "(`ls -l`), and that the disk is mounted"),
    ("permission denied", "permission denied on the store",
     "run parcelguard as the user that owns the home, or fix its ownership (chown)"),
    ("database is locked", "another process held the database's write lock past the "
     "busy timeout", "run the command again; if it persists, find the process holding "
     "a long write transaction"),
    ("connection refused", "the PostgreSQL server does not answer",
     "start it or check database_url"),
)
_ERRNO_FAULTS = {
    errno.ENOSPC: ("the disk is full", "free space on that filesystem, then run the command "
                   "again"),
    errno.EDQUOT: ("the disk quota is exhausted", "free space or raise the quota"),
    errno.EROFS: ("the filesystem is read-only", "remount it read-write, or run only "
                  "read-only commands"),
    errno.EACCES: ("permission denied", "run parcelguard as the user that owns the home, or "
                   "fix its ownership (chown) and modes"),
    errno.EPERM: ("operation not permitted", "run parcelguard as the user that owns the home"),
    errno.EIO: ("the disk reported an I/O error", "check the disk; restore the latest backup "
                "if the file is damaged"),
}


def as_storage_fault(exc: BaseException, settings: Settings | None = None) -> StorageFault | None:
    """The operator's version of ``exc`` if it is a storage fault, else None."""
    where = _where(settings)
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:  # the driver's error may be a cause
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno in _ERRNO_FAULTS:
            what, fix = _ERRNO_FAULTS[cur.errno]
            path = f" ({cur.filename})" if cur.filename else where
            return StorageFault(f"storage fault: {what}{path}. Fix: {fix}")
        text = str(getattr(cur, "orig", None) or cur).lower()
        for needle, what, fix in _DRIVER_FAULTS:
            if needle in text:
                return StorageFault(f"storage fault: {what}{where}. Fix: {fix}")
        cur = cur.__cause__ or cur.__context__
    return None


def _where(settings: Settings | None) -> str:
    if settings is None:
        return ""
    if settings.is_sqlite:
        return f" (database {settings.database_url.split('///', 1)[-1]})"
    return f" (home {Path(settings.home)})"
