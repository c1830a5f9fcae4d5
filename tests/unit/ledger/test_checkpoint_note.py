"""Signed checkpoints: the Go sumdb/note vector, independent checks, rejections."""

from __future__ import annotations

import base64
import hashlib
import string
from collections.abc import Callable

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelguard.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    InvalidSignatureError,
    MalformedError,
    NoteSigner,
    NoteVerifier,
    OriginMismatchError,
    UnknownKeyError,
    format_checkpoint,
    generate_key,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    sign_checkpoint,
    sign_note,
)

# The example key pair and note of golang.org/x/mod/sumdb/note (package doc and
# note_test.go). Ed25519 signatures are deterministic, so signing the same text with
# the same key must give this note byte for byte.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n"
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

ORIGIN = "parcelguard.example/ent/ZT001"
ROOT = hashlib.sha256(b"some tree").digest()


def test_signing_reproduces_the_go_note_vector() -> None:
    signer = NoteSigner.from_key(GO_SKEY)
    assert sign_note(GO_TEXT, signer) == GO_NOTE
    assert signer.key_string() == GO_SKEY
    assert signer.verifier().key_string() == GO_VKEY


def test_the_go_note_vector_opens() -> None:
    note = open_note(GO_NOTE, [NoteVerifier.from_key(GO_VKEY)])
    assert note.text == GO_TEXT
    assert [(s.name, s.key_hash) for s in note.signatures] == [("PeterNeumann", 0xC74F20A3)]
    with pytest.raises(InvalidSignatureError):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), [NoteVerifier.from_key(GO_VKEY)])


def test_checkpoint_round_trip() -> None:
    skey, vkey = generate_key(ORIGIN)
    note = sign_checkpoint(NoteSigner.from_key(skey), ORIGIN, 123456, ROOT)
    assert note.startswith(
        f"{ORIGIN}\n123456\n{base64.b64encode(ROOT).decode()}\n\n\u2014 {ORIGIN} "
    )
    assert open_checkpoint(note, vkey) == Checkpoint(ORIGIN, 123456, ROOT)
    origin, size, root = open_checkpoint(note.encode(), NoteVerifier.from_key(vkey))
    assert (origin, size, root) == (ORIGIN, 123456, ROOT)


def test_checkpoint_verifies_independently_of_our_parser() -> None:
    """Check a signed checkpoint by hand from the formats' text, with cryptography only."""
    skey, vkey = generate_key(ORIGIN)
    note = sign_checkpoint(NoteSigner.from_key(skey), ORIGIN, 42, ROOT)

    name, hash_hex, key_b64 = vkey.split("+", 2)
    key = base64.b64decode(key_b64)
    assert key[0] == 1  # algorithm byte: Ed25519
    assert len(key) == 33
    assert hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() == hash_hex

    body, sig_block = note.split("\n\n")
    body += "\n"
    assert body.split("\n") == [ORIGIN, "42", base64.b64encode(ROOT).decode(), ""]
    prefix, sig_name, sig_b64 = sig_block.rstrip("\n").split(" ")
    assert prefix == "\u2014"
    assert sig_name == name
    blob = base64.b64decode(sig_b64)
    assert len(blob) == 4 + 64
    assert blob[:4].hex() == hash_hex
    Ed25519PublicKey.from_public_bytes(key[1:]).verify(blob[4:], body.encode())
    with pytest.raises(InvalidSignature):
        Ed25519PublicKey.from_public_bytes(key[1:]).verify(
            blob[4:], body.replace("42", "43").encode()
        )


@pytest.fixture
def signed() -> tuple[str, str]:
    skey, vkey = generate_key(ORIGIN)
    return sign_checkpoint(NoteSigner.from_key(skey), ORIGIN, 1000, ROOT), vkey


def test_a_modified_body_is_rejected(signed: tuple[str, str]) -> None:
    note, vkey = signed
    with pytest.raises(InvalidSignatureError):
        open_checkpoint(note.replace("\n1000\n", "\n1001\n"), vkey)
    other_root = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    with pytest.raises(InvalidSignatureError):
        open_checkpoint(note.replace(base64.b64encode(ROOT).decode(), other_root), vkey)


def test_a_wrong_key_is_rejected(signed: tuple[str, str]) -> None:
    note, _ = signed
    _, same_name_other_key = generate_key(ORIGIN)
    with pytest.raises(UnknownKeyError):
        open_checkpoint(note, same_name_other_key)
    _, other_log = generate_key("parcelguard.example/ent/YT002")
    with pytest.raises(UnknownKeyError):
        open_checkpoint(note, other_log)


def test_a_signature_claiming_our_key_hash_but_made_by_another_key_is_rejected(
    signed: tuple[str, str],
) -> None:
    _, vkey = signed
    impostor_skey, _ = generate_key(ORIGIN)
    impostor = NoteSigner.from_key(impostor_skey)
    real_hash = NoteVerifier.from_key(vkey).key_hash
    forged = sign_note(
        format_checkpoint(ORIGIN, 1000, ROOT),
        NoteSigner(ORIGIN, real_hash, impostor.private_key),
    )
    with pytest.raises(InvalidSignatureError):
        open_checkpoint(forged, vkey)


@pytest.mark.parametrize("cut", [1, 4, 10, 60])
def test_a_truncated_signature_is_rejected(signed: tuple[str, str], cut: int) -> None:
    note, vkey = signed
    # Cut base64 characters (breaks the encoding) or re-encode fewer bytes (a valid
    # encoding of a short signature): both must fail.
    with pytest.raises(CheckpointError):
        open_checkpoint(note[: -1 - cut] + "\n", vkey)
    body, line = note.split("\n\n")
    blob = base64.b64decode(line.rsplit(" ", 1)[1])
    short = line.rsplit(" ", 1)[0] + " " + base64.b64encode(blob[:-cut]).decode() + "\n"
    with pytest.raises(CheckpointError):
        open_checkpoint(body + "\n\n" + short, vkey)


def test_a_checkpoint_for_another_origin_is_rejected() -> None:
    skey, vkey = generate_key(ORIGIN)
    note = sign_checkpoint(NoteSigner.from_key(skey), "parcelguard.example/ent/OTHER", 5, ROOT)
    with pytest.raises(OriginMismatchError):
        open_checkpoint(note, vkey)
    assert open_checkpoint(note, vkey, origin="parcelguard.example/ent/OTHER").size == 5
    with pytest.raises(OriginMismatchError):
        open_checkpoint(
            sign_checkpoint(NoteSigner.from_key(skey), ORIGIN, 5, ROOT), vkey, origin="x"
        )


def test_witness_cosignatures_are_kept_but_not_required(signed: tuple[str, str]) -> None:
    note, vkey = signed
    witness_skey, witness_vkey = generate_key("regulator.example/witness")
    body = note.split("\n\n")[0] + "\n"
    cosig = sign_note(body, NoteSigner.from_key(witness_skey)).split("\n\n")[1]
    cosigned = note + cosig
    assert open_checkpoint(cosigned, vkey).size == 1000
    opened = open_note(cosigned, [NoteVerifier.from_key(vkey)])
    assert [s.name for s in opened.unverified] == ["regulator.example/witness"]
    both = open_note(cosigned, [NoteVerifier.from_key(vkey), NoteVerifier.from_key(witness_vkey)])
    assert len(both.signatures) == 2


@pytest.mark.parametrize(
    "mangle",
    [
        lambda n: n.replace("\n\n", "\n"),  # no blank line before signatures
        lambda n: n[:-1],  # no final newline
        lambda n: n.replace("\u2014", "-"),  # hyphen, not em dash
        lambda n: n.replace("\u2014 ", "\u2014"),
        lambda n: n.replace("\n1000\n", "\n10\t00\n"),  # control character
        lambda n: n + "\n",  # empty signature line
        lambda n: n.split("\n\n")[0] + "\n\n",  # no signature at all
        lambda n: n + "\u2014 x\n",  # signature with no base64
        lambda n: n + "\u2014 x AAAA\n",  # signature too short
        lambda n: n + "\u2014 x AAAAAAA*\n",  # not base64
    ],
)
def test_malformed_notes_are_rejected(
    signed: tuple[str, str], mangle: Callable[[str], str]
) -> None:
    note, vkey = signed
    with pytest.raises(MalformedError):
        open_checkpoint(mangle(note), vkey)


def test_invalid_utf8_and_too_many_signatures_are_rejected(signed: tuple[str, str]) -> None:
    note, vkey = signed
    with pytest.raises(MalformedError):
        open_checkpoint(note.encode().replace(b"1000", b"1\xff00"), vkey)
    extra = "".join(f"\u2014 w{i} AAAAAAAA\n" for i in range(100))
    with pytest.raises(MalformedError):
        open_checkpoint(note + extra, vkey)


def test_mangled_verifier_keys_are_refused() -> None:
    # After note_test.go TestNewVerifier: every proper substring and every single
    # byte increment of a valid key must be refused.
    NoteVerifier.from_key(GO_VKEY)
    for i in range(len(GO_VKEY)):
        for j in range(i + 1, len(GO_VKEY) + 1):
            if (i, j) != (0, len(GO_VKEY)):
                with pytest.raises(MalformedError):
                    NoteVerifier.from_key(GO_VKEY[i:j])
        bumped = GO_VKEY[:i] + chr(ord(GO_VKEY[i]) + 1) + GO_VKEY[i + 1 :]
        with pytest.raises(MalformedError):
            NoteVerifier.from_key(bumped)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u3000b", "a\nb", "a\ud800"])
def test_invalid_key_names_are_refused(name: str) -> None:
    with pytest.raises(MalformedError):
        generate_key(name)


def test_signer_key_with_a_wrong_hash_is_refused() -> None:
    with pytest.raises(MalformedError, match="hash"):
        NoteSigner.from_key(GO_SKEY.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(MalformedError):
        NoteSigner.from_key(GO_SKEY.replace("PRIVATE+KEY", "PUBLIC+KEY"))
    assert "AYEKF" not in repr(NoteSigner.from_key(GO_SKEY))


@pytest.mark.parametrize(
    "text",
    [
        "o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # leading zero
        "o\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n18446744073709551616\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # 2**64
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",  # non-canonical base64
        "o\n1\nAAAA\n",  # short root
        "o\n1\n",
        "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # empty origin
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\next\n",  # empty line
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # no final newline
    ],
)
def test_malformed_checkpoint_bodies_are_refused(text: str) -> None:
    with pytest.raises(MalformedError):
        parse_checkpoint(text)


def test_checkpoint_extension_lines_are_allowed() -> None:
    body = format_checkpoint("o", 0, bytes(32)) + "ext line\n"
    assert parse_checkpoint(body) == Checkpoint("o", 0, bytes(32))


_name_chars = string.ascii_letters + string.digits + "./-_:\u4e2d"


@settings(max_examples=25, deadline=None)
@given(
    origin=st.text(_name_chars, min_size=1, max_size=40),
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
)
def test_any_checkpoint_round_trips(origin: str, size: int, root: bytes) -> None:
    skey, vkey = generate_key(origin)
    note = sign_checkpoint(NoteSigner.from_key(skey), origin, size, root)
    assert open_checkpoint(note, vkey) == (origin, size, root)
