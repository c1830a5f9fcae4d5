"""Signed envelopes: the one form a message takes between nodes.

An envelope names its sender (organisation and node key id), its recipient, a
message id (the receiver's idempotency key), its kind, a JSON body and its creation
time, and carries an Ed25519 signature over the RFC 8785 canonical JSON of all of
that. The recipient is signed too, so an envelope cannot be replayed to another
node. Pure Python: no database, no network.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from parcelguard.core.canonical import canonical_json

VERSION: Final = 1
# cac: the cyberspace administration, to which the department reports onward
ROLES: Final = ("enterprise", "supervision", "police", "auditor", "cac")

# kind -> (roles that may send it, roles that may receive it). The flows of the
# three levels (DOMAIN.md): carriers report to the supervision department, which
# orders interventions, grants audits and refers cases onward; the police and
# auditors ask carriers for data.
KINDS: Final[dict[str, tuple[frozenset[str], frozenset[str]]]] = {
    "incident_report": (frozenset({"enterprise"}), frozenset({"supervision"})),
    "incident_supplement": (frozenset({"enterprise"}), frozenset({"supervision"})),
    "escalation": (frozenset({"enterprise", "supervision"}),
                   frozenset({"supervision", "police"})),
    "intervention": (frozenset({"supervision"}), frozenset({"enterprise"})),
    "intervention_ack": (frozenset({"enterprise"}), frozenset({"supervision"})),
    "police_referral": (frozenset({"enterprise", "supervision"}), frozenset({"police"})),
    "data_request": (frozenset({"supervision", "police", "auditor"}),
                     frozenset({"enterprise"})),
    "data_answer": (frozenset({"enterprise"}),
                    frozenset({"supervision", "police", "auditor"})),
    "audit_grant": (frozenset({"supervision"}), frozenset({"auditor", "enterprise"})),
    "onward_report": (frozenset({"supervision", "police", "auditor"}),
                      frozenset({"supervision", "police", "cac"})),
    # the administration's receipt for a report the department forwarded to it
    "forward_receipt": (frozenset({"cac"}), frozenset({"supervision"})),
}


class EnvelopeError(ValueError):
    """An envelope that is malformed or whose signature does not verify."""


@dataclass(frozen=True)
class Envelope:
    message_id: str
    sender_org: str
    sender_key_id: str
    recipient_org: str
    kind: str
    body: dict[str, Any]
    created_at: str
    signature: str = ""
    v: int = VERSION

    def signed_part(self) -> dict[str, Any]:
        d = asdict(self)
        del d["signature"]
        return d

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def sign(self, key: ed25519.Ed25519PrivateKey) -> Envelope:
        sig = key.sign(canonical_json(self.signed_part()))
        return Envelope(**{**self.signed_part(), "signature": base64.b64encode(sig).decode()})

    def verify(self, public: ed25519.Ed25519PublicKey) -> None:
        try:
            public.verify(base64.b64decode(self.signature, validate=True),
                          canonical_json(self.signed_part()))
        except (InvalidSignature, ValueError):
            raise EnvelopeError("the envelope's signature does not verify with the "
                                "sender's registered node key") from None


def parse(doc: object) -> Envelope:
    """An envelope from its JSON form; refuses missing, extra or mistyped fields."""
    if not isinstance(doc, dict):
        raise EnvelopeError("an envelope is a JSON object")
    fields = {"message_id": str, "sender_org": str, "sender_key_id": str,
              "recipient_org": str, "kind": str, "body": dict, "created_at": str,
              "signature": str, "v": int}
    if set(doc) != set(fields):
        raise EnvelopeError(f"envelope fields must be exactly {sorted(fields)}")
    for name, typ in fields.items():
        if not isinstance(doc[name], typ) or (isinstance(doc[name], bool) and typ is int):
            raise EnvelopeError(f"envelope field {name} must be a {typ.__name__}")
    if doc["v"] != VERSION:
        raise EnvelopeError(f"envelope version {doc['v']} (this node reads {VERSION})")
    if doc["kind"] not in KINDS:
        raise EnvelopeError(f"unknown message kind {doc['kind']!r}")
    if not 0 < len(doc["message_id"]) <= 64:
        raise EnvelopeError("message_id must be 1-64 characters")
    return Envelope(**doc)


def check_roles(kind: str, sender_role: str, recipient_role: str) -> None:
    senders, recipients = KINDS[kind]
    if sender_role not in senders:
        raise EnvelopeError(f"a {sender_role} node does not send {kind}")
    if recipient_role not in recipients:
        raise EnvelopeError(f"a {recipient_role} node does not receive {kind}")
