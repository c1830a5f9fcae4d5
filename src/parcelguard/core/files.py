"""Everything under the home is private to the service account: directories 0700,
files 0600. The home holds the database (with PI ciphertext and blind indexes), its
WAL/SHM files, key files and outputs; other local users have no business reading
any of them.

The CLI sets the process umask to 077, so whatever it writes (the database, which
SQLite creates with that mode and copies to its -wal and -shm files; exports,
reports, archives) is born private. ``private_home`` tightens what exists already
(a home made by an older release or another tool).
"""

from __future__ import annotations

import errno
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE_UMASK = 0o077


def private_home(home: Path, database_url: str) -> None:
    """Make an existing ``home`` 0700 and its SQLite database (with its -wal and -shm
    files) 0600. Creating a home is `parcelguard init`'s job (no silent fresh starts).
    A home on a read-only filesystem is left as it is: nothing can change its modes,
    and reading commands must still work there."""
    if not home.is_dir():
        return
    paths = [home]
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        paths += [p for p in (db, db.with_name(db.name + "-wal"),
                              db.with_name(db.name + "-shm")) if p.exists()]
    for path in paths:
        try:
            path.chmod(0o700 if path == home else 0o600)
        except OSError as exc:
            if exc.errno != errno.EROFS:
                raise
            return
