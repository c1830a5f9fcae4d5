"""Envelopes and the directory: what a receiver's checks rest on."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from parcelguard.node import directory as dirdoc
from parcelguard.node import envelope as env
from parcelguard.node import pki


def _envelope(**over: object) -> env.Envelope:
    fields: dict[str, object] = {
        "message_id": "env_1", "sender_org": "e1", "sender_key_id": "k1",
        "recipient_org": "sup", "kind": "incident_report",
        "body": {"incident": "inc_1", "records": 12, "share": 0.25},
        "created_at": "2026-12-07T01:00:00.000+00:00"}
    fields.update(over)
    return env.Envelope(**fields)  # type: ignore[arg-type]


def test_a_signed_envelope_verifies_and_any_change_breaks_it() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    signed = _envelope().sign(key)
    env.parse(signed.to_json()).verify(key.public_key())
    for change in ({"body": {"incident": "inc_2", "records": 12, "share": 0.25}},
                   {"recipient_org": "police"}, {"kind": "incident_supplement"},
                   {"created_at": "2026-12-07T01:00:01.000+00:00"}):
        forged = dataclasses.replace(signed, **change)  # type: ignore[arg-type]
        with pytest.raises(env.EnvelopeError, match="does not verify"):
            forged.verify(key.public_key())
    with pytest.raises(env.EnvelopeError, match="does not verify"):
        signed.verify(ed25519.Ed25519PrivateKey.generate().public_key())


def test_malformed_envelopes_and_wrong_roles_are_refused() -> None:
    good = _envelope().sign(ed25519.Ed25519PrivateKey.generate()).to_json()
    with pytest.raises(env.EnvelopeError, match="fields"):
        env.parse({**good, "extra": 1})
    with pytest.raises(env.EnvelopeError, match="unknown message kind"):
        env.parse({**good, "kind": "delete_everything"})
    with pytest.raises(env.EnvelopeError, match="body must be a dict"):
        env.parse({**good, "body": "text"})
    with pytest.raises(env.EnvelopeError, match="enterprise node does not send intervention"):
        env.check_roles("intervention", "enterprise", "enterprise")
    env.check_roles("intervention", "supervision", "enterprise")


def _entry(org: str, role: str) -> dirdoc.NodeEntry:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return dirdoc.NodeEntry(org=org, role=role, url=f"https://{org}.invalid:443",
                            node_key=pki.public_b64(key), key_id=pki.key_id(key),
                            tls_fingerprint="00" * 32)


def test_a_directory_verifies_only_with_the_supervision_key_and_never_rolls_back() -> None:
    sup = ed25519.Ed25519PrivateKey.generate()
    d1 = dirdoc.Directory("sup", 1, "2026-12-07T00:00:00+00:00",
                          (_entry("e1", "enterprise"),)).sign(sup)
    d2 = dirdoc.Directory("sup", 2, "2026-12-07T01:00:00+00:00",
                          (_entry("e1", "enterprise"), _entry("e2", "enterprise"))).sign(sup)
    got = dirdoc.parse(d2.to_json(), supervision_key=sup.public_key(), not_older_than=1)
    assert got.entry("e2") is not None
    with pytest.raises(dirdoc.DirectoryError, match="rollback"):
        dirdoc.parse(d1.to_json(), supervision_key=sup.public_key(), not_older_than=2)
    other = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(dirdoc.DirectoryError, match="not signed by"):
        dirdoc.parse(d2.to_json(), supervision_key=other.public_key())
    tampered = d2.to_json()
    tampered["nodes"][0]["url"] = "https://attacker.invalid:443"
    with pytest.raises(dirdoc.DirectoryError, match="not signed by"):
        dirdoc.parse(tampered, supervision_key=sup.public_key())


def test_a_node_certificate_names_its_org_and_node_key(tmp_path: object) -> None:
    from pathlib import Path

    from cryptography.hazmat.primitives import serialization

    base = Path(str(tmp_path))
    ca = pki.init_ca(base / "ca")
    tls = pki.new_tls_key(base / "tls.key")
    cert = pki.issue_cert(ca, org="e1", node_key_id="abcd", tls_public=tls.public_key(),
                          hosts=["127.0.0.1", "e1.invalid"])
    der = cert.public_bytes(serialization.Encoding.DER)
    b = pki.binding(der)
    assert (b.orgs, b.key_ids, b.fingerprint) == (("e1",), ("abcd",), pki.fingerprint(der))
    assert (base / "ca" / "ca.key").stat().st_mode & 0o077 == 0


def test_the_log_and_witness_keys_in_the_directory_are_signed() -> None:
    # a witness trusts an enterprise's log by the key the directory lists for it: a
    # swapped key must break the directory's signature, not be believed
    sup = ed25519.Ed25519PrivateKey.generate()
    entry = dataclasses.replace(_entry("e1", "enterprise"),
                                log_key="parcelguard.example/e1+01020304+AQID")
    d = dirdoc.Directory("sup", 1, "2026-12-07T00:00:00+00:00", (entry,)).sign(sup)
    got = dirdoc.parse(d.to_json(), supervision_key=sup.public_key())
    assert got.entry("e1").log_key == entry.log_key  # type: ignore[union-attr]
    swapped = d.to_json()
    swapped["nodes"][0]["log_key"] = "parcelguard.example/e1+05060708+BAUG"
    with pytest.raises(dirdoc.DirectoryError, match="not signed by"):
        dirdoc.parse(swapped, supervision_key=sup.public_key())
    # an entry without these keys is signed as before they existed
    plain = d.to_json()["nodes"][0] | {"log_key": ""}
    assert "log_key" not in dirdoc.NodeEntry(**plain).signed_json()
