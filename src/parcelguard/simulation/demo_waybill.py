"""The waybill stage of ``parcelguard demo``: labels, virtual numbers, expiry.

Called by ``simulation/demo_stages.py`` after the world's parcels and assignments
are in the database. It takes plain data (no simulation types), so it stays below
the simulation in the import order; it reads parcels and assignments and resolves
real numbers, so it lives with the gate.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.access.waybills import virtual_numbers
from parcelguard.access.waybills.audit import Actor
from parcelguard.access.waybills.labels import issue_label
from parcelguard.ledger import parcels as projection
from parcelguard.logistics.models import Assignment, Employee, Parcel
from parcelguard.logistics.read import assignment_info
from parcelguard.vault.service import VaultService
from parcelguard.waybill import service, virtual
from parcelguard.waybill.fonts import cjk_font
from parcelguard.waybill.models import VirtualBinding, VirtualNumber
from parcelguard.waybill.telephony import BindingMode, LocalTelephony, Telephony

SAMPLE_LABEL = "sample-label.pdf"


def _resolutions(session: Session, vault: VaultService, first: Assignment) -> dict[str, int]:
    """Three attempts on one parcel: the bound courier inside the window, another
    courier of the same station network, the bound courier after the window."""
    other = session.scalar(select(Employee.id).where(
        Employee.enterprise_id == first.enterprise_id, Employee.id != first.employee_id,
        Employee.role == "courier").limit(1))
    inside = first.starts_at + (first.ends_at - first.starts_at) / 2
    attempts = [(first.employee_id, inside), (other or "emp-unknown", inside),
                (first.employee_id, first.ends_at + timedelta(hours=1))]
    tally = {"allowed": 0, "denied": 0}
    for employee_id, at in attempts:
        r = virtual_numbers.resolve(session, vault, enterprise_id=first.enterprise_id,
                                    employee_id=employee_id, waybill_no=first.waybill_no,
                                    at=at)
        tally["allowed" if r.allowed else "denied"] += 1
    return tally


def demo_stage(session: Session, vault: VaultService, *, out_dir: Path, now: datetime,
               labels: int = 100,
               telephony: Telephony | None = None,
               grace: timedelta = virtual.DEFAULT_GRACE,
               font_path: Path | None = None) -> dict[str, Any]:
    """Issue ``labels`` privacy labels (printed at pickup, AXN number + extension),
    bind each parcel's delivery courier for the assignment window, try three
    resolutions, sweep at ``now`` and again after the grace period (the sweep finds
    the deliveries in the parcel projection, fed by the ingested stream), and write
    ``out_dir/sample-label.pdf``. Returns the figures for the summary; the caller
    commits."""
    tel = telephony or LocalTelephony()
    rows = session.execute(
        select(Assignment, Parcel.created_at)
        .join(Parcel, Parcel.waybill_no == Assignment.waybill_no)
        .where(Assignment.purpose == "delivery", Assignment.revoked.is_(False))
        .order_by(Assignment.starts_at, Assignment.id).limit(labels)).all()
    sample: bytes | None = None
    bound: list[Assignment] = []
    for a, created_at in rows:
        if virtual.live_binding(session, a.enterprise_id, a.waybill_no) is not None:
            continue  # a parcel assigned twice: its label and binding already exist
        issued = issue_label(
            session, vault, tel, enterprise_id=a.enterprise_id, waybill_no=a.waybill_no,
            actor=Actor("system", "label-printer", None, "pda"), at=created_at,
            font_path=font_path)
        sample = sample or issued.pdf
        virtual_numbers.bind_for_assignment(session, tel, assignment=assignment_info(a),
                                            at=a.starts_at,
                                            mode=BindingMode.AXN_EXT)
        bound.append(a)
    resolutions = _resolutions(session, vault, bound[0]) if bound else {}
    delivered = sum(
        1 for a in bound if projection.status_of(session, a.enterprise_id, a.waybill_no)
        in projection.FINAL_STATUSES)
    expired_now = virtual_numbers.expire_bindings(session, now, telephony=tel, grace=grace)
    expired_later = virtual_numbers.expire_bindings(session, now + grace, telephony=tel,
                                                    grace=grace)
    live = session.scalar(select(func.count()).select_from(VirtualBinding).where(
        VirtualBinding.expired_at.is_(None))) or 0
    sample_path = out_dir / SAMPLE_LABEL
    if sample is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        sample_path.write_bytes(sample)
    font = cjk_font(font_path)
    return {
        "labels_issued": service.labels_issued(session),
        "virtual_numbers_bound": len(bound),
        "host_numbers_leased": session.scalar(select(func.count()).select_from(VirtualNumber)),
        "delivered": delivered,
        "expired_at_end_of_window": expired_now,
        "expired_after_grace": expired_later,
        "grace_days": grace.days,
        "still_live": live,
        "resolutions": resolutions,
        "sample_label": str(sample_path) if sample is not None else None,
        "label_font": font.source if font.embedded else f"{font.source} (not embedded)",
    }
