"""What a police node checks of a referral's evidence package on receipt
(node/effects.py ``check_evidence``), on an enterprise node's real store: the package
against the log key the directory lists, and against the checkpoint the police
node's own witness cosigned (its cosignature line, the consistency proof). Each
altered part is named, never passed."""

from __future__ import annotations

import base64
import copy
from typing import Any

import msgspec
import pytest

from parcelguard.channel import evidence
from parcelguard.core.runtime import Runtime
from parcelguard.ledger import logs
from parcelguard.ledger.cosign import Cosigner
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.signing import checkpoint
from parcelguard.node.effects import check_evidence
from parcelguard.node.home import Node
from parcelguard.vault.provider import vault_service
from tests.integration.node.test_effects import e1  # noqa: F401  (the fixture)

WITNESS = "parcelguard.example/witness/pol"


def _ingest(rt: Runtime, first: int, count: int) -> None:
    lines = [(i, msgspec.json.encode({"event_id": f"v{n}", "kind": "parcel",
                               "occurred_at": "2026-12-07T08:00:00+08:00",
                               "enterprise_id": "e1", "waybill_no": f"SF{n:013d}",
                               "step": "created"}))
             for i, n in enumerate(range(first, first + count), start=1)]
    with rt.db.unit_of_work() as uow:
        assert not EventLog(clock_now=rt.clock.now).append_raw(uow.session, lines).rejected
        uow.commit()


@pytest.fixture
def referral(e1: tuple[Node, Runtime]) -> tuple[Runtime, dict[str, Any], str]:  # noqa: F811
    """A package over 20 entries; the log grown to 40, signed and cosigned by the
    police witness: the body as the carrier's relay sends it. Yields the runtime, the
    body and the log key the directory lists."""
    node, rt = e1
    _ingest(rt, 0, 20)
    kms = vault_service(rt.settings).vault.kms
    with rt.db.unit_of_work() as uow:
        package = evidence.build(uow.session, kms=kms, clock=rt.clock, enterprise_id="e1",
                                 positions=[2, 5, 11], record_counts={"other": 3},
                                 insider=True, case={"type": "incident"})
        uow.commit()
    _ingest(rt, 20, 20)
    cosigner = Cosigner.generate(WITNESS)
    with rt.db.unit_of_work() as uow:
        cp = checkpoint(uow.session, "e1", kms=kms, clock=rt.clock)
        proof = logs.consistency(uow.session, "e1", 20, 40)["consistency"]
        uow.commit()
    text = cp.note[:cp.note.rindex("\n\n") + 1]
    body = {"package": package, "package_sha256": evidence.package_digest(package),
            "witnessed": {"note": cp.note, "cosignature": cosigner.cosign(text, 1_800_000_000),
                          "consistency": proof}}
    entry = node.directory().entry("e1")  # type: ignore[union-attr]
    assert entry is not None
    return rt, body | {"witness_key": cosigner.verifier().key_string()}, entry.log_key


def _check(rt: Runtime, body: dict[str, Any], log_key: str) -> dict[str, Any]:
    witness_key = body.pop("witness_key")
    with rt.db.unit_of_work() as uow:
        return check_evidence(uow.session, body, log_key=log_key, witness_key=witness_key)


def test_a_genuine_package_verifies_and_is_consistent_with_the_witnessed_log(
        referral: tuple[Runtime, dict[str, Any], str]) -> None:
    rt, body, log_key = referral
    got = _check(rt, body, log_key)
    assert (got["evidence_ok"], got["events_verified"], got["tree_size"]) == (True, 3, 20)
    assert (got["witnessed"], got["witnessed_size"]) == ("consistent", 40)
    assert got["problems"] == []


def test_an_altered_event_fails_its_inclusion_proof(
        referral: tuple[Runtime, dict[str, Any], str]) -> None:
    rt, body, log_key = referral
    body = copy.deepcopy(body)
    ev = body["package"]["events"][1]
    leaf = base64.b64decode(ev["leaf"]).replace(b'"step":"created"', b'"step":"closed"')
    ev["leaf"] = base64.b64encode(leaf).decode()
    body["package_sha256"] = evidence.package_digest(body["package"])
    got = _check(rt, body, log_key)
    assert got["evidence_ok"] is False
    assert any("inclusion proof fails" in p for p in got["problems"]), got
    assert got["witnessed"] == "not checked"


def test_a_package_that_is_not_the_one_stated_is_refused(
        referral: tuple[Runtime, dict[str, Any], str]) -> None:
    rt, body, log_key = referral
    got = _check(rt, body | {"package_sha256": "0" * 64}, log_key)
    assert got["evidence_ok"] is False
    assert "the digest is not the one sent" in got["problems"]


def test_a_package_signed_by_another_key_than_the_directorys_is_refused(
        referral: tuple[Runtime, dict[str, Any], str]) -> None:
    from parcelguard.ledger.checkpoint import generate_key

    rt, body, _ = referral
    # the package names its own key; the police trust only the directory's
    _, other = generate_key(body["package"]["origin"])
    got = _check(rt, body | {"package": body["package"] | {"verifier_key": other}}
                 | {"package_sha256": evidence.package_digest(
                     body["package"] | {"verifier_key": other})}, other)
    assert got["evidence_ok"] is False
    assert len(got["problems"]) == 1
    assert got["problems"][0].startswith("checkpoint does not verify"), got


def test_a_broken_consistency_proof_is_inconsistent(
        referral: tuple[Runtime, dict[str, Any], str]) -> None:
    rt, body, log_key = referral
    body = copy.deepcopy(body)
    proof = body["witnessed"]["consistency"]
    proof[0] = base64.b64encode(bytes(32)).decode()
    got = _check(rt, body, log_key)
    assert got["evidence_ok"] is True
    assert got["witnessed"] == "inconsistent"


def test_a_cosignature_by_another_witness_is_not_this_nodes(
        referral: tuple[Runtime, dict[str, Any], str]) -> None:
    rt, body, log_key = referral
    other = Cosigner.generate(WITNESS).verifier().key_string()
    got = _check(rt, body | {"witness_key": other}, log_key)
    assert got["witnessed"] == "the cosignature is not this node's witness's"
