"""The register of issued privacy labels: QR tokens, label rows, counts.

The QR code carries a random token; the table keeps its SHA-256, so an authorised
device resolves a scanned token to the waybill and nothing else can. Each issue
(first print or reprint) is a row: bursts of reprints are a known leak path.

Issuing a label for a stored parcel decrypts its PI, so it is the access gate's
(``access/labels.py``); this module only keeps the record of what was printed.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.core.errors import InvalidInput, NotFound
from parcelguard.core.ids import new_id
from parcelguard.waybill.models import WaybillLabel

# The printed date is the carrier's local date, whatever the server's zone.
LABEL_TZ: Final = ZoneInfo("Asia/Shanghai")
# 128 bits of randomness: unguessable, and with the prefix 26 characters, which fit
# a version-2 QR code (25 x 25 modules) that scans easily off a thermal label.
_TOKEN_BYTES: Final = 16
# A letter prefix keeps the renderer's token check happy and marks our tokens.
_TOKEN_PREFIX: Final = "pgq_"  # noqa: S105 - a public prefix, not a secret


def new_token() -> str:
    """A fresh QR token for one printed label."""
    return _TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def record_label(session: Session, *, enterprise_id: str, waybill_no: str, token: str,
                 binding_id: str, pdf: bytes, issued_by: str, at: datetime) -> WaybillLabel:
    """Keep the record of one printed label (its token hashed, never the token)."""
    label = WaybillLabel(id=new_id("lbl"), enterprise_id=enterprise_id, waybill_no=waybill_no,
                         token_hash=token_hash(token), binding_id=binding_id,
                         pdf_sha256=hashlib.sha256(pdf).hexdigest(), issued_at=at,
                         issued_by=issued_by[:64])
    session.add(label)
    return label


def labels_issued(session: Session, enterprise_id: str | None = None) -> int:
    """Labels issued (reprints included), for one enterprise or all."""
    q = select(func.count()).select_from(WaybillLabel)
    if enterprise_id is not None:
        q = q.where(WaybillLabel.enterprise_id == enterprise_id)
    return int(session.scalar(q) or 0)


def label_for_token(session: Session, *, enterprise_id: str, token: str) -> WaybillLabel:
    """The label a scanned QR token belongs to, within the caller's enterprise."""
    if not token.startswith(_TOKEN_PREFIX) or len(token) > 64:
        raise InvalidInput("not a parcelguard label token")
    label = session.scalars(select(WaybillLabel).where(
        WaybillLabel.token_hash == token_hash(token))).first()
    if label is None or label.enterprise_id != enterprise_id:
        raise NotFound("unknown label token")
    return label
