"""Channel queries, each starting from a base already scoped to one enterprise, and
the sealing/opening of report content through the vault."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from parcelguard.channel.models import (
    ChannelAttachment,
    ChannelLink,
    ChannelMessage,
    ChannelReport,
    ChannelReportWaybill,
)
from parcelguard.core.errors import NotFound
from parcelguard.core.ids import new_id
from parcelguard.identity import read as identity_read
from parcelguard.vault.rotation import CiphertextColumn
from parcelguard.vault.service import VaultService

# Where the channel keeps vault ciphertexts, for re-encrypting key rotations (its
# plugin lists them as ciphertext_columns); a table left out would be stranded.
CIPHERTEXT_COLUMNS = (
    *(CiphertextColumn(table="channel_reports", field=f, subject_column="reporter_subject_id",
                       ct_column=f"{f}_ct")
      for f in ("body", "reporter_name", "reporter_contact", "scam_caller")),
    CiphertextColumn(table="channel_messages", field="message", subject_column="subject_id",
                     ct_column="body_ct"),
    CiphertextColumn(table="channel_attachments", field="attachment",
                     subject_column="subject_id", ct_column="content_ct"),
)


def enterprise_or_404(session: Session, enterprise_id: str) -> identity_read.Org:
    return identity_read.org_of_kind(session, enterprise_id, "enterprise")


class ReportRepository:
    def __init__(self, session: Session, enterprise_id: str) -> None:
        self.session = session
        self.enterprise_id = enterprise_id

    def _reports(self) -> Select[ChannelReport]:
        return select(ChannelReport).where(ChannelReport.enterprise_id == self.enterprise_id)

    def get(self, report_id: str) -> ChannelReport:
        row = self.session.scalars(self._reports().where(ChannelReport.id == report_id)).first()
        if row is None:  # another tenant's report is as absent as a missing one
            raise NotFound(f"no report {report_id}")
        return row

    def by_receipt(self, receipt_code: str) -> ChannelReport | None:
        return self.session.scalars(
            self._reports().where(ChannelReport.receipt_code == receipt_code)).first()

    def listing(self, *, status: str | None, limit: int, offset: int) -> list[ChannelReport]:
        stmt = self._reports()
        if status is not None:
            stmt = stmt.where(ChannelReport.status == status)
        stmt = stmt.order_by(ChannelReport.received_at.desc(), ChannelReport.id)
        return list(self.session.scalars(stmt.limit(limit).offset(offset)))

    def same_caller(self, caller_bi: bytes) -> list[ChannelReport]:
        return list(self.session.scalars(self._reports().where(
            ChannelReport.scam_caller_bi == caller_bi).order_by(ChannelReport.received_at)))

    def waybills(self, report_ids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {r: [] for r in report_ids}
        for rid, wb in self.session.execute(
                select(ChannelReportWaybill.report_id, ChannelReportWaybill.waybill_no)
                .where(ChannelReportWaybill.report_id.in_(list(report_ids)))
                .order_by(ChannelReportWaybill.waybill_no)):
            out[rid].append(wb)
        return out

    def messages(self, report_id: str) -> list[ChannelMessage]:
        return list(self.session.scalars(select(ChannelMessage).where(
            ChannelMessage.report_id == report_id).order_by(ChannelMessage.at,
                                                            ChannelMessage.id)))

    def attachments(self, report_id: str) -> list[ChannelAttachment]:
        return list(self.session.scalars(select(ChannelAttachment).where(
            ChannelAttachment.report_id == report_id).order_by(ChannelAttachment.at,
                                                               ChannelAttachment.id)))

    def links(self, report_id: str) -> list[ChannelLink]:
        return list(self.session.scalars(select(ChannelLink).where(
            ChannelLink.report_id == report_id).order_by(ChannelLink.id)))


def add_message(session: Session, vault: VaultService, report: ChannelReport, *,
                author: str, body: str, at: datetime,
                author_ref: str | None = None) -> ChannelMessage:
    """Append a sealed message to the report's thread."""
    mid = new_id("msg")
    [ct] = vault.seal(session, report.enterprise_id,
                      [(report.reporter_subject_id, mid, "message", body)])
    msg = ChannelMessage(id=mid, report_id=report.id, enterprise_id=report.enterprise_id,
                         subject_id=report.reporter_subject_id, author=author,
                         author_ref=author_ref, body_ct=ct, at=at)
    session.add(msg)
    session.flush()
    return msg


def open_fields(session: Session, vault: VaultService, report: ChannelReport,
                items: Sequence[tuple[str, str, bytes | None]]) -> list[str | None]:
    """Decrypt (record id, field, ciphertext) items of one report's subject; None for
    empty fields or when the report was crypto-shredded."""
    subject = report.reporter_subject_id
    if not items:
        return []
    try:
        return vault.open(session, report.enterprise_id,
                          [(subject, rec, fld, ct) for rec, fld, ct in items])
    except LookupError:  # the enterprise has no keyset: nothing was ever sealed
        return [None] * len(items)
