"""An independent tlog-tiles client: checks a served log by the C2SP documents alone.

It shares no code with parcelguard.ledger (nor with the mirror or witness): paths,
bundles, RFC 9162 hashing, signed-note and cosignature checks are written here from
https://c2sp.org/tlog-tiles, https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note
and https://c2sp.org/tlog-cosignature, so a bug in the ledger cannot hide itself by
being repeated in its check. Only httpx2, hashlib and cryptography are used.
"""

from __future__ import annotations

import base64
import hashlib
import ssl
from dataclasses import dataclass, field

import httpx2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DASH = "\u2014 "


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(hashes: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 Merkle Tree Hash over leaf hashes (recursive split at the
    largest power of two below n)."""
    n = len(hashes)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return sha256(b"\x01" + mth(hashes[:k]) + mth(hashes[k:]))


def index_path(n: int) -> str:
    parts: list[str] = []
    while True:
        n, r = divmod(n, 1000)
        parts.insert(0, f"{r:03d}")
        if n == 0:
            break
    return "/".join(["x" + p for p in parts[:-1]] + parts[-1:])


def read_bundle(data: bytes) -> list[bytes]:
    out, i = [], 0
    while i < len(data):
        n = int.from_bytes(data[i:i + 2], "big")
        out.append(data[i + 2:i + 2 + n])
        i += 2 + n
    assert i == len(data), "bundle does not end on an entry"
    return out


def vkey_parts(vkey: str) -> tuple[str, bytes, bytes]:
    """(name, 4-byte key hash, 0xTT || public key) of a note verifier key."""
    name, hex8, b64 = vkey.split("+", 2)
    return name, bytes.fromhex(hex8), base64.b64decode(b64)


@dataclass
class Checked:
    origin: str
    size: int
    root: bytes
    body: str
    entries: list[bytes] = field(default_factory=list)
    cosigned_by: dict[str, int] = field(default_factory=dict)  # witness -> timestamp


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    body, _, sigs = note.rpartition("\n\n")
    lines = [ln for ln in sigs.split("\n") if ln]
    out = []
    for ln in lines:
        assert ln.startswith(DASH), ln
        name, _, b64 = ln[len(DASH):].partition(" ")
        out.append((name, base64.b64decode(b64)))
    return body + "\n", out


def check_log_signature(body: str, sigs: list[tuple[str, bytes]], vkey: str) -> None:
    name, khash, key = vkey_parts(vkey)
    assert key[0] == 0x01, "log keys are Ed25519 signed-note keys (type 0x01)"
    assert sha256(name.encode() + b"\n" + key)[:4] == khash, "key hash"
    mine = [blob for n, blob in sigs if n == name and blob[:4] == khash]
    assert mine, "no signature by the log's key"
    Ed25519PublicKey.from_public_bytes(key[1:]).verify(mine[0][4:], body.encode())


def check_cosignature(body: str, sigs: list[tuple[str, bytes]], vkey: str) -> int:
    """The timestamp of the witness's valid cosignature/v1 (raises if absent/bad)."""
    name, kid, key = vkey_parts(vkey)
    assert key[0] == 0x04, "cosignature/v1 keys have type 0x04"
    assert sha256(name.encode() + b"\n" + b"\x04" + key[1:])[:4] == kid, "key ID"
    mine = [blob for n, blob in sigs if n == name and blob[:4] == kid]
    assert mine, f"no cosignature by {name}"
    blob = mine[0]
    assert len(blob) == 4 + 8 + 64
    ts = int.from_bytes(blob[4:12], "big")
    message = f"cosignature/v1\ntime {ts}\n".encode() + body.encode()
    try:
        Ed25519PublicKey.from_public_bytes(key[1:]).verify(blob[12:], message)
    except InvalidSignature:
        raise AssertionError(f"cosignature by {name} does not verify") from None
    return ts


def verify_log(base: str, log_vkey: str, witness_vkeys: tuple[str, ...] = (), *,
               tls: ssl.SSLContext | None = None) -> Checked:
    """Fetch checkpoint, every entry bundle and every hash tile of the log at ``base``;
    recompute the root from the entries and check it, each served tile, the log's
    signature and each witness's cosignature. Returns what it checked. ``tls``: the
    client context for a node that serves over mutual TLS."""
    with httpx2.Client(base_url=base.rstrip("/") + "/", timeout=30,
                       verify=tls if tls is not None else True) as c:
        r = c.get("checkpoint")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/plain")
        body, sigs = split_note(r.text)
        check_log_signature(body, sigs, log_vkey)
        origin, size_text, root_b64 = body.split("\n")[:3]
        out = Checked(origin, int(size_text), base64.b64decode(root_b64), body)
        assert origin == vkey_parts(log_vkey)[0]
        for wkey in witness_vkeys:
            out.cosigned_by[vkey_parts(wkey)[0]] = check_cosignature(body, sigs, wkey)

        size, level_hashes = out.size, []
        for n in range((size + 255) // 256):
            w = min(256, size - n * 256)
            suffix = "" if w == 256 else f".p/{w}"
            r = c.get(f"tile/entries/{index_path(n)}{suffix}")
            assert r.status_code == 200, (n, r.status_code)
            got = read_bundle(r.content)
            assert len(got) == w
            out.entries += got
        level_hashes = [sha256(b"\x00" + e) for e in out.entries]
        assert mth(level_hashes) == out.root, "entries do not hash to the checkpoint root"

        # Every served hash tile must hold the MTHs the spec defines for it.
        level, width_of = 0, len(level_hashes)
        while width_of:
            for n in range((width_of + 255) // 256):
                w = min(256, width_of - n * 256)
                suffix = "" if w == 256 else f".p/{w}"
                r = c.get(f"tile/{level}/{index_path(n)}{suffix}")
                assert r.status_code == 200, (level, n, r.status_code)
                assert r.content == b"".join(level_hashes[n * 256:n * 256 + w]), (level, n)
                full = "immutable" in r.headers.get("cache-control", "")
                assert full == (w == 256), r.headers.get("cache-control")
            level_hashes = [mth(level_hashes[i:i + 256])
                            for i in range(0, len(level_hashes) - 255, 256)]
            width_of = len(level_hashes)
            level += 1
    return out
