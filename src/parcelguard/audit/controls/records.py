"""Controls on what the enterprise holds and hands out: PI encrypted at rest, notice
and consent coverage, privacy-waybill compliance. All are checked on ids, hashes and
ciphertext envelopes; nothing is decrypted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from parcelguard.audit.controls.context import Ctx, share
from parcelguard.audit.model import Measurement
from parcelguard.consent import read as consent_read
from parcelguard.logistics import read as logistics_read
from parcelguard.vault import read as vault_read
from parcelguard.vault.cipher import FORMAT_V1, MIN_CIPHERTEXT_BYTES, dek_version_of
from parcelguard.waybill import read as waybill_read

REQUIRED_FIELDS = ("sender_name", "sender_phone", "sender_address", "recipient_name",
                   "recipient_phone", "recipient_address")
OPTIONAL_FIELDS = ("sender_id_number",)  # kept only when verified at pickup
_BATCH = 5_000


def _field_problem(ct: bytes | None, versions: set[int] | None, required: bool) -> str | None:
    if ct is None:
        return "missing" if required else None
    ct = bytes(ct)
    if len(ct) < MIN_CIPHERTEXT_BYTES or ct[0] != FORMAT_V1:
        return "not_an_envelope"  # plaintext or a foreign format
    if versions is None or dek_version_of(ct) not in versions:
        return "no_subject_key"  # encrypted under a key the vault does not hold
    return None


def pi_encryption(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """Share of the parcels held at the end of the period whose PI fields are all
    vault envelopes under a key the subject has (erased subjects count as protected:
    their key is destroyed)."""
    s, ent = ctx.session, ctx.enterprise_id
    keys = vault_read.key_versions(s, ent)
    erased = vault_read.erased_subjects(s, ent)
    total = good = 0
    problems: Counter[str] = Counter()
    for row in logistics_read.sealed_fields(s, ent, (*REQUIRED_FIELDS, *OPTIONAL_FIELDS),
                                            before=ctx.period.end, batch=_BATCH):
        total += 1
        ok = True
        for i, name in enumerate((*REQUIRED_FIELDS, *OPTIONAL_FIELDS)):
            subject = row[1] if name.startswith("sender") else row[2]
            if subject in erased:
                continue
            problem = _field_problem(row[3 + i], keys.get(subject), name in REQUIRED_FIELDS)
            if problem:
                problems[f"{name}:{problem}"] += 1
                ok = False
        good += ok
    if not total:
        return Measurement.not_evaluable("no parcels held at the end of the period")
    value = good / total
    return Measurement(value, f"{good:,} of {total:,} parcels hold every PI field as a "
                       f"vault ciphertext ({value:.2%})",
                       {"parcels": total, "fully_encrypted": good,
                        "problems": dict(problems.most_common(10)),
                        "erased_subjects": len(erased)})


def notice_consent(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """Share of the period's senders who acknowledged a published notice no later
    than their first parcel of the period (plus ``grace_minutes``)."""
    s, ent, p = ctx.session, ctx.enterprise_id, ctx.period
    notices = consent_read.notices_published_before(s, ent, p.end)
    first = logistics_read.first_parcel_by_sender(s, ent, p.start, p.end)
    if not first:
        return Measurement.not_evaluable("no parcels were shipped in the period",
                                         notices_published=notices)
    if not notices:
        return Measurement(0.0, "no privacy notice was published before the end of the "
                           "period", {"senders": len(first), "notices_published": 0})
    acks = consent_read.first_acknowledgements(s, ent, p.end)
    grace = timedelta(minutes=float(params.get("grace_minutes", 60)))
    covered = late = 0
    for subject, first_at in first.items():
        ack = acks.get(subject)
        if ack is None:
            continue
        if _aware(ack) <= _aware(first_at) + grace:
            covered += 1
        else:
            late += 1
    value = covered / len(first)
    return Measurement(value, f"{covered:,} of {len(first):,} senders acknowledged the notice "
                       f"by their first parcel ({value:.2%})",
                       {"senders": len(first), "acknowledged_in_time": covered,
                        "acknowledged_late": late,
                        "never_acknowledged": len(first) - covered - late,
                        "notices_published": notices})


def _aware(value: Any) -> Any:
    # Aggregates of a UTCDateTime column may come back naive (or as text on SQLite).
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def privacy_waybill(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    """The lower of: labels issued in the period for the enterprise's own parcels with
    a virtual number; label prints not beyond ``max_prints_per_waybill`` per waybill."""
    s, ent, p = ctx.session, ctx.enterprise_id, ctx.period
    labels = waybill_read.labels_issued_in(s, ent, p.start, p.end)
    own = logistics_read.own_waybills(s, ent, sorted({w for w, _ in labels}))
    good_labels = sum(1 for w, b in labels if b is not None and w in own)
    prints = [r for r in ctx.access_events()
              if r.ev.action == "print_label" and r.ev.outcome == "allowed"]
    limit = int(params.get("max_prints_per_waybill", 3))
    per_waybill = Counter(r.ev.waybill_no for r in prints)
    excess = sum(n - limit for w, n in per_waybill.items() if w and n > limit)
    if not labels and not prints:
        return Measurement.not_evaluable("no labels were issued or printed in the period")
    label_share = share(good_labels, len(labels))
    print_share = share(len(prints) - excess, len(prints))
    value = min(label_share, print_share)
    return Measurement(value, f"{good_labels:,} of {len(labels):,} issued labels compliant; "
                       f"{excess:,} of {len(prints):,} prints beyond {limit} per waybill",
                       {"labels_issued": len(labels), "labels_compliant": good_labels,
                        "labels_without_virtual_number": sum(1 for _, b in labels if b is None),
                        "labels_for_unknown_waybills": sum(1 for w, _ in labels if w not in own),
                        "prints": len(prints), "excess_prints": excess,
                        "waybills_over_limit": sum(1 for n in per_waybill.values()
                                                   if n > limit)})
