"""Notices to the people an incident affected (PIPL Art. 57): what data, why, the
possible harm; what was done and what they can do; whom to contact.

Handlers never see a recipient's PI. They pick an incident and a channel; the
notifier receives pseudonymous ``Addressee`` handles and resolves the phone number
inside the vault at send time, inside its own ``send`` call, and reports back only
a masked destination (GB/T 41833 style, e.g. 138******78). That is all a notice
row keeps.

The ``Notifier`` protocol is the seam for real SMS gateways, mail servers and app
push services; the local implementations here record what would be sent (masked)
and send nothing. incidents/plugin.py chooses one per channel.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import msgspec
from sqlalchemy.orm import Session

from parcelguard.incidents.models import Incident
from parcelguard.logistics import read as logistics_read
from parcelguard.logistics.read import ParcelInfo
from parcelguard.vault.service import VaultService
from parcelguard.waybill.masking import mask_phone

CHANNELS = ("sms", "email", "in_app")
_BATCH = 1_000  # people per vault call and gateway request

FIELD_NAMES: Mapping[str, tuple[str, str]] = {
    "name": ("姓名", "name"), "phone": ("手机号码", "phone number"),
    "address": ("地址", "address"), "id_number": ("身份证号", "ID number")}
HARM: Mapping[str, tuple[str, str]] = {
    "phone": ("可能接到冒充快递或客服的诈骗电话、短信",
              "scam calls or messages pretending to be the courier or customer service"),
    "address": ("可能有人冒领包裹或上门骚扰", "someone claiming your parcel or visiting you"),
    "id_number": ("身份信息可能被冒用", "misuse of your identity"),
    "name": ("诈骗者可能叫出你的名字以取得信任",
             "scammers addressing you by name to gain your trust")}
CAUSE: Mapping[str, tuple[str, str]] = {
    "insider_abuse": ("内部人员违规查询或泄露", "an employee looked up or leaked it improperly"),
    "account_compromise": ("员工账号被他人使用", "an employee account was used by others"),
    "external_attack": ("外部网络攻击", "an attack from outside"),
    "tampering": ("系统或日志被篡改", "tampering with systems or logs"),
    "misconfiguration": ("系统配置错误", "a system misconfiguration"),
    "partner": ("合作方处理不当", "mishandling by a partner")}
ADVICE = (("不要向来电者提供验证码、银行卡信息；理赔、退款只通过官方渠道办理",
           "Never give verification codes or card details to callers; handle claims and "
           "refunds only through official channels"),
          ("遇到可疑来电可拨打反诈专线96110", "Report suspicious calls to the anti-fraud "
                                              "line 96110"))


@dataclass(frozen=True)
class Addressee:
    """Who to notify, by pseudonymous handles only: the person and a parcel of theirs
    whose sealed contact details the notifier may open."""

    enterprise_id: str
    subject_id: str
    parcel_id: str
    party: str  # sender | recipient


@dataclass(frozen=True)
class NoticeMessage:
    incident_id: str
    data_types: tuple[str, ...]
    cause: tuple[str, str]
    harm: tuple[tuple[str, str], ...]
    measures: tuple[str, ...]
    advice: tuple[tuple[str, str], ...]
    contact: str
    # the contact as the English half names it, when it differs (a carrier's generic
    # customer service, see notices.contacts_for); a plan's contact is one text
    contact_zh: str = ""

    def text(self) -> str:
        kinds = sorted({f.partition("_")[2] for f in self.data_types})
        zh = "、".join(FIELD_NAMES.get(k, (k, k))[0] for k in kinds)
        en = ", ".join(FIELD_NAMES.get(k, (k, k))[1] for k in kinds)
        return (f"【个人信息安全告知】您的{zh}可能已泄露。原因：{self.cause[0]}。"
                f"可能影响：{'；'.join(h[0] for h in self.harm)}。"
                f"我们已采取：{'；'.join(self.measures) or '调查处置中'}。"
                f"您可以：{'；'.join(a[0] for a in self.advice)}。"
                f"联系：{self.contact_zh or self.contact}"
                f" / Your {en} may have been exposed because {self.cause[1]}. Possible harm: "
                f"{'; '.join(h[1] for h in self.harm)}. Done so far: "
                f"{'; '.join(self.measures) or 'under investigation'}. You can: "
                f"{'; '.join(a[1] for a in self.advice)}. Contact: {self.contact}")

    def as_record(self) -> dict[str, object]:
        """What the notice row keeps: the message's parts, no addressee."""
        return {"data_types": list(self.data_types), "cause": self.cause[1],
                "harm": [h[1] for h in self.harm], "measures": list(self.measures),
                "advice": [a[1] for a in self.advice], "contact": self.contact}


def compose(inc: Incident, *, measures: list[str], contact: str,
            contact_zh: str = "") -> NoticeMessage:
    kinds = sorted({f.partition("_")[2] for f in inc.data_types}) or ["name", "phone",
                                                                       "address"]
    return NoticeMessage(
        incident_id=inc.id, data_types=tuple(inc.data_types),
        cause=CAUSE.get(inc.category, ("安全事件", "a security incident")),
        harm=tuple(HARM[k] for k in kinds if k in HARM), measures=tuple(measures),
        advice=ADVICE, contact=contact, contact_zh=contact_zh)


@dataclass(frozen=True)
class Delivery:
    status: str  # sent | no_address | failed
    destination: str | None = None  # masked


class Message(Protocol):
    """What a notifier sends: an incident notice, or any other text for the person
    (a consumer's one-time code, see ``web/consumer_proof.py``)."""

    def text(self) -> str: ...


class Notifier(Protocol):
    """Sends one message to many people (gateways take batches) and answers one
    ``Delivery`` per addressee, in order."""

    channel: str

    def send(self, session: Session, to: Sequence[Addressee],
             message: Message) -> list[Delivery]: ...


@dataclass(frozen=True)
class OutboxItem:
    channel: str
    destination: str
    subject_id: str
    text: str


@dataclass
class LocalSmsNotifier:
    """Records the SMS it would send. The numbers are opened from the parcels' sealed
    phone fields inside ``send`` (one vault call per batch) and only their masked
    form leaves the call; an erased person (crypto-shredded) cannot be reached."""

    vault: VaultService
    channel: str = "sms"
    outbox: list[OutboxItem] = field(default_factory=list)
    # The simulated phone network: every message appended here (JSON lines, 0600) so
    # other processes - a served app's workers, tests, an operator playing the
    # consumer - read what the phone would show; a long-running server then keeps
    # nothing in memory. None: ``outbox`` (memory) instead.
    spool: Path | None = None

    def send(self, session: Session, to: Sequence[Addressee],
             message: Message) -> list[Delivery]:
        out: list[Delivery] = []
        text = message.text()
        for i in range(0, len(to), _BATCH):
            out += self._batch(session, to[i:i + _BATCH], text)
        return out

    def _record(self, item: OutboxItem) -> None:
        if self.spool is None:
            self.outbox.append(item)
            return
        self.spool.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.spool, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "ab") as fh:
            fh.write(msgspec.json.encode(item) + b"\n")

    def _batch(self, session: Session, to: Sequence[Addressee], text: str) -> list[Delivery]:
        ids = [a.parcel_id for a in to]
        parcels = logistics_read.parcels_by_id(session, ids)
        items: list[tuple[int, Addressee, ParcelInfo]] = [
            (i, a, p) for i, a in enumerate(to)
            if (p := parcels.get(a.parcel_id)) is not None and p.enterprise_id == a.enterprise_id]
        out = [Delivery("no_address") for _ in to]
        by_ent: dict[str, list[tuple[int, Addressee, ParcelInfo]]] = {}
        for item in items:
            by_ent.setdefault(item[1].enterprise_id, []).append(item)
        for ent, group in by_ent.items():
            phones = self.vault.open(session, ent, [
                (a.subject_id, p.id, f"{a.party}_phone", getattr(p, f"{a.party}_phone_ct"))
                for _, a, p in group])
            for (i, a, _), phone in zip(group, phones, strict=True):
                if phone:
                    masked = mask_phone(phone)
                    self._record(OutboxItem(self.channel, masked, a.subject_id, text))
                    out[i] = Delivery("sent", masked)
            del phones  # the numbers live no longer than this call
        return out


@dataclass
class LocalEmailNotifier:
    """Parcels carry no e-mail address, so locally nobody is reachable by e-mail;
    a deployment with a customer-account store supplies the address lookup."""

    channel: str = "email"
    outbox: list[OutboxItem] = field(default_factory=list)

    def send(self, session: Session, to: Sequence[Addressee],
             message: Message) -> list[Delivery]:
        del session, message
        return [Delivery("no_address") for _ in to]


@dataclass
class LocalInAppNotifier:
    """An in-app message to the person's account, addressed by subject id: no
    contact details are needed at all."""

    channel: str = "in_app"
    outbox: list[OutboxItem] = field(default_factory=list)

    def send(self, session: Session, to: Sequence[Addressee],
             message: Message) -> list[Delivery]:
        del session
        text = message.text()
        self.outbox += [OutboxItem(self.channel, "in-app", a.subject_id, text) for a in to]
        return [Delivery("sent", "in-app") for _ in to]


def sms_spool(home: Path) -> Path:
    """Where the local SMS simulator records under the home (shared by every process
    of one deployment)."""
    return home / "simulator" / "sms.jsonl"


def local_notifiers(vault: VaultService, *, spool: Path | None = None) -> dict[str, Notifier]:
    """The local implementation of every channel (the default incidents/plugin.py picks);
    ``spool``: the file the simulated SMS network records into (see LocalSmsNotifier)."""
    return {"sms": LocalSmsNotifier(vault, spool=spool), "email": LocalEmailNotifier(),
            "in_app": LocalInAppNotifier()}


def addressees(session: Session, inc: Incident) -> list[Addressee]:
    """The affected people the evidence names, each with one parcel of theirs whose
    leaked fields concern them (see impact.py for which evidence counts)."""
    from parcelguard.incidents.impact import PI_ACTIONS, load_events

    parties: dict[str, set[str]] = {}
    for ev in load_events(session, inc.enterprise_id, inc.evidence_event_ids):
        if ev.get("kind") != "access" or ev.get("outcome") != "allowed" \
                or ev.get("action") not in PI_ACTIONS or not isinstance(ev.get("waybill_no"),
                                                                        str):
            continue
        fields = [str(f) for f in ev.get("fields") or []]  # type: ignore[attr-defined]
        parties.setdefault(str(ev["waybill_no"]), set()).update(
            {f.partition("_")[0] for f in fields} or {"recipient"})
    out: dict[str, Addressee] = {}
    for p in logistics_read.parcels_by_waybills(session, inc.enterprise_id, sorted(parties)):
        for party in sorted(parties[p.waybill_no]):
            subject = getattr(p, f"{party}_subject_id")
            out.setdefault(subject, Addressee(inc.enterprise_id, subject, p.id, party))
    return [out[s] for s in sorted(out)]
