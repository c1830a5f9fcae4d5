"""An independent RFC 9162 §2.1 and C2SP signed-note verifier for the ledger tests.

Written from the RFC and the C2SP specs, sharing no code with parcelguard.ledger:
the tree hash and proofs follow the RFC's recursive definitions (MTH, PATH, PROOF,
SUBPROOF) literally; proofs are checked by rebuilding the roots along the same
recursion (not the RFC's iterative §2.1.3.2/§2.1.4.2 algorithms the ledger uses), so
a shared misreading of the RFC cannot make both sides agree. Notes are checked with
the `cryptography` Ed25519 primitive directly, as golang.org/x/mod/sumdb/note does.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """RFC 9162: the largest power of two smaller than n (k < n <= 2k)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def leaf_hash(leaf: bytes) -> bytes:
    return _h(b"\x00" + leaf)


class Tree:
    """D[0:n] with MTH, PATH and PROOF exactly as RFC 9162 §2.1.1-2.1.4 define them."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.d = list(leaves)
        self.mth = cache(self._mth)

    def _mth(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return _h(b"")
        if n == 1:
            return leaf_hash(self.d[lo])
        k = _k(n)
        return _h(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi))

    def root(self, n: int) -> bytes:
        return self.mth(0, n)

    def path(self, m: int, n: int) -> list[bytes]:
        def go(m: int, lo: int, hi: int) -> list[bytes]:
            if hi - lo == 1:
                return []
            k = _k(hi - lo)
            if m < k:
                return [*go(m, lo, lo + k), self.mth(lo + k, hi)]
            return [*go(m - k, lo + k, hi), self.mth(lo, lo + k)]

        return go(m, 0, n)

    def proof(self, m: int, n: int) -> list[bytes]:
        def sub(m: int, lo: int, hi: int, b: bool) -> list[bytes]:
            if m == hi - lo:
                return [] if b else [self.mth(lo, hi)]
            k = _k(hi - lo)
            if m <= k:
                return [*sub(m, lo, lo + k, b), self.mth(lo + k, hi)]
            return [*sub(m - k, lo + k, hi, False), self.mth(lo, lo + k)]

        return sub(m, 0, n, True) if 0 < m < n else []


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """Rebuild the root from a PATH by walking the PATH recursion down from the top."""
    if not 0 <= index < size or any(len(p) != 32 for p in proof):
        return False
    rest = list(proof)

    def up(m: int, n: int) -> bytes | None:
        if n == 1:
            return leaf_hash(leaf)
        if not rest:
            return None
        sibling = rest.pop()  # PATH lists the top-level sibling last
        k = _k(n)
        below = up(m, k) if m < k else up(m - k, n - k)
        if below is None:
            return None
        return _h(b"\x01" + below + sibling) if m < k else _h(b"\x01" + sibling + below)

    got = up(index, size)
    return got is not None and not rest and got == root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """Rebuild both roots from a PROOF by walking the SUBPROOF recursion."""
    if any(len(p) != 32 for p in proof) or not 0 <= old <= new:
        return False
    if old in (0, new):
        return not proof and (old_root == _h(b"") if old == 0 else old_root == new_root)
    rest = list(proof)

    def sub(m: int, n: int, b: bool) -> tuple[bytes, bytes] | None:
        """(MTH of the old tree's part here, MTH of the new tree's part here)."""
        if m == n:
            if b:
                return old_root, old_root
            if not rest:
                return None
            node = rest.pop()  # MTH of this whole part: the same in both trees
            return node, node
        if not rest:
            return None
        last = rest.pop()
        k = _k(n)
        if m <= k:
            got = sub(m, k, b)
            return None if got is None else (got[0], _h(b"\x01" + got[1] + last))
        got = sub(m - k, n - k, False)
        if got is None:
            return None
        return _h(b"\x01" + last + got[0]), _h(b"\x01" + last + got[1])

    got = sub(old, new, True)
    return got is not None and not rest and got == (old_root, new_root)


# --- C2SP signed notes and checkpoints ------------------------------------------------


def parse_verifier_key(vkey: str) -> tuple[str, bytes, Ed25519PublicKey]:
    """``<name>+<hex key hash>+<base64(0x01 || key)>`` -> (name, 4-byte hash, key)."""
    name, hash_hex, key_b64 = vkey.split("+", 2)  # base64 may itself hold "+"
    raw = base64.b64decode(key_b64, validate=True)
    assert raw[0] == 1, "not an Ed25519 note key"
    assert len(raw) == 33, "not an Ed25519 note key"
    key_id = _h(name.encode() + b"\n" + raw)[:4]
    assert key_id.hex() == hash_hex, "verifier key hash does not match"
    return name, key_id, Ed25519PublicKey.from_public_bytes(raw[1:])


def open_checkpoint(note: str, vkey: str) -> tuple[str, int, bytes]:
    """Verify a signed checkpoint note; return (origin, size, root). Raises on failure."""
    name, key_id, public = parse_verifier_key(vkey)
    text, sep, sigs = note.rpartition("\n\n")
    assert sep, "no signature block"
    assert sigs.endswith("\n"), "signature block does not end with a newline"
    body = text + "\n"
    verified = False
    for line in sigs[:-1].split("\n"):
        assert line.startswith("\u2014 "), "bad signature line"
        signer, b64 = line[2:].split(" ")
        blob = base64.b64decode(b64, validate=True)
        if signer == name and blob[:4] == key_id:
            try:
                public.verify(blob[4:], body.encode())
            except InvalidSignature:
                raise AssertionError("bad signature") from None
            verified = True
    assert verified, "no signature by the key"
    origin, size, root_b64, *_ext = body[:-1].split("\n")
    assert origin == name, "origin is not the key name"
    root = base64.b64decode(root_b64, validate=True)
    assert len(root) == 32, "root is not a SHA-256 hash"
    assert str(int(size)) == size, "size is not a canonical decimal"
    return origin, int(size), root
