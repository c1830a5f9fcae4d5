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

from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE_UMASK = 0o077


def private_home(home: Path, database_url: str) -> None:
    """Make an existing ``home`` 0700 and its SQLite database (with its -wal and -shm
    files) 0600. Creating a home is `parcelguard init`'s job (no silent fresh starts)."""
    if not home.is_dir():
        return
    home.chmod(0o700)
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    db = Path(url.database)
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if path.exists():
            path.chmod(0o600)
