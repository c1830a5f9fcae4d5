"""Everything under the home is private to the service account: directories 0700,
files 0600. The home holds the database (with PI ciphertext and blind indexes), its
WAL/SHM files, key files and outputs; other local users have no business reading
any of them.

The CLI also sets the process umask to 077, so whatever it writes later (exports,
reports, archives) is born private; ``private_home`` covers what exists already and
the SQLite file, whose mode SQLite copies to its -wal and -shm files.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE_UMASK = 0o077


def private_home(home: Path, database_url: str) -> None:
    """Create ``home`` as 0700 and the SQLite file (when the database is one under
    it) as 0600 before SQLite opens it; tighten them when they exist already."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    home.chmod(0o700)
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    db = Path(url.database)
    db.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(db, os.O_WRONLY | os.O_CREAT, 0o600))
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if path.exists():
            path.chmod(0o600)
