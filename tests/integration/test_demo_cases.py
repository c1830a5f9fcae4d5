"""`serve --demo` seeds its cases on every start (provision, then the cases, in one
unit of work): on a reused demo database the portals show the same referral and the
same overdue incident, not one more of each per start."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from parcelguard.channel.models import ChannelReferral
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.incidents.models import Incident
from parcelguard.ops.store import init_store
from parcelguard.vault.provider import vault_service
from parcelguard.waybill.provider import telephony
from parcelguard.web import demo
from parcelguard.web.demo_cases import Cases, seed_cases


def _start(rt: Runtime) -> Cases:
    vault = vault_service(rt.settings)
    with rt.db.unit_of_work() as uow:
        prov = demo.provision(uow.session, vault, telephony(rt.settings), clock=rt.clock)
        cases = seed_cases(uow.session, vault, rt.settings, rt.clock, prov)
        uow.commit()
    return cases


def test_a_second_start_shows_the_same_cases(tmp_path: Path) -> None:
    rt = Runtime(settings=Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'd.db'}"))
    init_store(rt.settings)
    try:
        first, second = _start(rt), _start(rt)
        assert first.referral_id is not None
        assert first.incident_id is not None
        assert (second.referral_id, second.incident_id) == (first.referral_id,
                                                             first.incident_id)
        with rt.db.unit_of_work() as uow:
            assert uow.session.scalar(select(func.count()).select_from(ChannelReferral)) == 1
            assert uow.session.scalar(select(func.count()).select_from(Incident)) == 1
    finally:
        rt.close()
