"""The attack suite's world: the portals' demo organisations and cases, one account
for every role (each with an enrolled authenticator), an ingest API key, a rival
enterprise with its own administrator, and parcels of three known (synthetic) people
whose PI the final scan looks for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from parcelguard.core.runtime import Runtime
from parcelguard.identity import service as identity
from parcelguard.identity.permissions import ROLES, Principal
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.vault.provider import vault_service
from parcelguard.waybill.provider import telephony
from parcelguard.web import demo
from parcelguard.web.demo_cases import Cases, seed_cases
from tests.e2e.attack.staff import Person, make_org, make_person

RIVAL = "rival-express"
# Synthetic people (valid-looking mainland numbers and resident ID numbers).
PEOPLE = [
    PartyIn("sub-atk-1", "欧阳娜娜", "13812345678", "上海市浦东新区张江路88弄5号楼1203室",
            "11010519491231002X"),
    PartyIn("sub-atk-2", "司马相如", "15987654321", "成都市武侯区人民南路四段27号2栋3单元501室",
            "510107198803150018"),
    PartyIn("sub-atk-3", "阿卜杜拉·买买提", "18611112222", "乌鲁木齐市天山区解放北路100号6-2-301",
            "650102199001010017"),
]


@dataclass
class AttackWorld:
    enterprise_id: str
    people: dict[str, Person]  # role -> its account in the demo organisations
    rival_admin: Person
    ingest_key: str
    cases: Cases
    prov: demo.Provisioned
    waybills: list[str]  # of the known people's parcels

    def pi_values(self) -> list[str]:
        return [v for p in PEOPLE for v in (p.name, p.phone, p.address, p.id_number or "")]


def build(rt: Runtime) -> AttackWorld:
    vault = vault_service(rt.settings)
    with rt.db.unit_of_work() as uow:
        prov = demo.provision(uow.session, vault, telephony(rt.settings), clock=rt.clock)
        cases = seed_cases(uow.session, vault, rt.settings, rt.clock, prov)
        ent = prov.enterprise_id
        waybills = [make_waybill_no("ZT", 900 + i) for i in range(6)]
        register_parcels(uow.session, vault, enterprise_id=ent, parcels=[
            ParcelIn(waybill_no=wb, sender=PEOPLE[i % 3], recipient=PEOPLE[(i + 1) % 3],
                     created_at=datetime.now(UTC), destination_region="310115")
            for i, wb in enumerate(waybills)])
        admin = Principal(ent, "enterprise", "enterprise_admin")
        key = identity.issue_api_key(uow.session, admin, name="feeder", role="ingest_client",
                                     clock=rt.clock).secret
        uow.commit()
    people = {login.role: Person(login.username, login.password, login.totp_secret,
                                 login.org_id, login.role) for login in prov.logins}
    org_of_kind = {"enterprise": ent, "supervisor": identity.SUPERVISOR_ORG_ID,
                   "police": demo.POLICE_ORG, "auditor": demo.AUDITOR_ORG}
    for role, (kind, _) in sorted(ROLES.items()):
        if role not in people and role != "ingest_client":  # machines have keys
            if kind not in org_of_kind:  # a kind of organisation the demo has none of
                org_of_kind[kind] = make_org(rt, f"{kind}-atk", kind)
            people[role] = make_person(rt, org_id=org_of_kind[kind], username=f"{role}.atk",
                                       role=role)
    make_org(rt, RIVAL)
    rival = make_person(rt, org_id=RIVAL, username="rival.admin", role="enterprise_admin")
    return AttackWorld(ent, people, rival, key, cases, prov, waybills)
