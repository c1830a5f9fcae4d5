"""Issuing privacy labels for stored parcels.

The parcel's PI is decrypted through the vault inside ``print_parcel_label`` only,
masked at once, and only the masked values reach the renderer (which checks them
again). The QR code carries a random token (``waybill.service``). Each issue (first
print or reprint) is a ``waybill_labels`` row and one ``print_label`` access event:
bursts of reprints are a known leak path and must be visible to the monitor.

Two callers: ``AccessGate.print_label`` for people (the gate decides and records
the event), and ``issue_label`` for a system printer at collection (the intake
system prints the label before anyone is assigned; recorded as a system actor).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from parcelguard.access.waybills.audit import Actor, record_access
from parcelguard.access.waybills.parcels import parcel_of
from parcelguard.core.errors import Conflict
from parcelguard.identity import read as identity_read
from parcelguard.logistics.read import ParcelInfo
from parcelguard.vault.service import VaultService
from parcelguard.waybill.label import LabelData, render_label
from parcelguard.waybill.masking import mask
from parcelguard.waybill.partner_payload import SHAREABLE_FIELDS
from parcelguard.waybill.service import LABEL_TZ, new_token, record_label
from parcelguard.waybill.telephony import Telephony
from parcelguard.waybill.virtual import binding_for_label, display_number

# What a label shows, masked: both parties' name, phone and address.
LABEL_FIELDS = SHAREABLE_FIELDS


@dataclass(frozen=True, slots=True)
class IssuedLabel:
    label_id: str
    waybill_no: str
    binding_id: str
    virtual_number: str
    event_id: str
    pdf: bytes = field(repr=False)
    qr_token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class PrintedLabel:
    """A rendered, registered label whose access event is yet to be recorded."""

    label_id: str
    binding_id: str
    virtual_number: str
    pdf: bytes = field(repr=False)
    qr_token: str = field(repr=False)

    def issued(self, waybill_no: str, event_id: str) -> IssuedLabel:
        return IssuedLabel(self.label_id, waybill_no, self.binding_id, self.virtual_number,
                           event_id, self.pdf, self.qr_token)


def print_parcel_label(session: Session, vault: VaultService, telephony: Telephony, *,
                       parcel: ParcelInfo, issued_by: str, at: datetime,
                       font_path: Path | None = None) -> PrintedLabel:
    """Render and register the label of ``parcel``: masked name/phone/address of both
    parties, the virtual number (bound now if the parcel has none), a fresh QR
    token. Records no event (the caller does). Raises Conflict when a person's PI
    was erased."""
    ent, waybill_no = parcel.enterprise_id, parcel.waybill_no
    binding = binding_for_label(session, telephony, enterprise_id=ent, waybill_no=waybill_no,
                                recipient_subject_id=parcel.recipient_subject_id, at=at)
    values = vault.open(session, ent, [
        (getattr(parcel, f"{f.partition('_')[0]}_subject_id"), parcel.id, f,
         getattr(parcel, f"{f}_ct")) for f in LABEL_FIELDS])
    if any(v is None for v in values):
        raise Conflict(f"waybill {waybill_no}: a party's PI was erased; no label can be printed")
    masked = {f: mask(f.partition("_")[2], v or "") for f, v in zip(LABEL_FIELDS, values,
                                                                     strict=True)}
    del values  # nothing unmasked goes further than this line
    token = new_token()
    data = LabelData(
        waybill_no=waybill_no, carrier=identity_read.org_name(session, ent),
        virtual_number=display_number(binding), qr_token=token,
        origin=parcel.origin_station_id or "-",
        destination=parcel.destination_station_id or parcel.destination_region or "-",
        printed_at=at.astimezone(LABEL_TZ).date(), **masked)
    buf = io.BytesIO()
    render_label(data, buf, font_path=font_path)
    pdf = buf.getvalue()
    label = record_label(session, enterprise_id=ent, waybill_no=waybill_no, token=token,
                         binding_id=binding.id, pdf=pdf, issued_by=issued_by, at=at)
    session.flush()
    return PrintedLabel(label.id, binding.id, data.virtual_number, pdf, token)


def issue_label(session: Session, vault: VaultService, telephony: Telephony, *,
                enterprise_id: str, waybill_no: str, actor: Actor, at: datetime,
                font_path: Path | None = None, purpose: str = "pickup") -> IssuedLabel:
    """A system printer's label for a stored parcel (see ``print_parcel_label``),
    recorded as a ``print_label`` access event of ``actor``. People print through
    ``AccessGate.print_label``. Raises NotFound for another enterprise's or an
    unknown waybill and Conflict when the person's PI was erased."""
    parcel = parcel_of(session, enterprise_id, waybill_no)
    printed = print_parcel_label(session, vault, telephony, parcel=parcel, issued_by=actor.id,
                                 at=at, font_path=font_path)
    event_id = record_access(session, enterprise_id=enterprise_id, actor=actor,
                             action="print_label", fields=LABEL_FIELDS,
                             waybill_no=waybill_no, allowed=True, purpose=purpose, at=at)
    session.flush()
    return printed.issued(waybill_no, event_id)
