"""How a consumer proves they are a party to a parcel, the way carriers' apps do.

The waybill number and a phone number only *ask* for a one-time code. The code goes
through the SMS notifier to the phone on file for that parcel (the notifier opens the
sealed number inside the vault; nobody sees it) and only the code opens the tracking
details or the rights actions. Knowing, or guessing, the phone number is therefore
not enough to act as the person, and the answer to "waybill + phone" is the same
whether the number matched or not, so it is no oracle for recovering the number.

Attempts are counted per waybill, per source (a keyed hash of the address, never the
address) and globally, in the database so every worker sees the same counts. A
locked waybill refuses even the right code (the lock must not be an oracle), and its
lock is an event in the carrier's log, where the monitor and the security team see it.

Tokens are signed with itsdangerous under a key kept in the home, shared by every
worker of one deployment: the challenge token carries no PI and no hint of whether the
number matched (only a MAC binding the code to the party), and the session token
names the pseudonymous party for ``TOKEN_MINUTES``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.channel import throttle
from parcelguard.core.clock import Clock
from parcelguard.core.ids import new_id
from parcelguard.incidents.notify import Addressee, Notifier
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics.models import Parcel
from parcelguard.vault.service import VaultService
from parcelguard.web.consumers import Party, identify
from parcelguard.web.settings import WebSettings

KEY_BYTES = 32
CODE_DIGITS = 6  # what every carrier's app sends; with CODE_TRIES, 5 in 10^6 a challenge
CODE_TRIES = 5  # wrong codes before a challenge is void
TOKEN_MINUTES = 30  # long enough to fill a form, short enough that a shared screen expires
# Messages shown to the visitor (translated by the portal). One answer whether the
# number matched or not.
SENT = ("If this phone number is on the parcel, we have sent a %(n)s-digit code to it by "
        "SMS. Enter it below.")
WRONG_CODE = "The code is wrong or has expired. Ask for a new code."
WAIT = "Too many attempts for this parcel or from this connection. Try again later."


@dataclass(frozen=True)
class Refusal:
    status_code: int
    message: str


@dataclass(frozen=True)
class CodeMessage:
    """The SMS with the code (both languages: the number's owner may read either)."""

    code: str
    minutes: int

    def text(self) -> str:
        return (f"【parcelguard】验证码 {self.code}，{self.minutes} 分钟内有效，用于查询包裹或"
                f"行使个人信息权利。请勿告诉任何人，快递员和客服不会索要。/ Your parcelguard "
                f"code is {self.code}, valid for {self.minutes} minutes, to track a parcel "
                "or use your PI rights. Never share it: couriers and customer service never "
                "ask for it.")


def signing_key(home: Path) -> bytes:
    """The deployment's consumer-token key, created once under the home (0600) and
    read by every worker: a token signed by one worker is good at another, and a
    restart does not sign everyone out."""
    path = home / "keys" / "consumer-tokens.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written aside then linked into place: two workers starting at once agree on
    # whichever key was linked first, and nobody reads a half-written file.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(KEY_BYTES))
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes()


@dataclass(frozen=True)
class Limits:
    per_waybill: throttle.Limit
    per_source: throttle.Limit
    everyone: throttle.Limit
    code_minutes: int

    @classmethod
    def of(cls, s: WebSettings) -> Limits:
        window = timedelta(minutes=s.consumer_window_minutes)
        return cls(throttle.Limit(s.consumer_attempts_per_waybill, window, window),
                   throttle.Limit(s.consumer_attempts_per_source, window, window),
                   throttle.Limit(s.consumer_attempts_global, window, window),
                   s.consumer_code_minutes)


@dataclass(frozen=True)
class ConsumerProof:
    """The proof service of one process: its key (from the home), limits and SMS
    notifier. ``request_code`` and ``verify_code`` leave their counters in the
    session; the caller commits whatever they answer."""

    key: bytes
    limits: Limits
    notifier: Notifier
    vault: VaultService

    def _serializer(self, salt: str) -> URLSafeSerializer:
        return URLSafeSerializer(self.key, salt=salt)

    def _keys(self, waybill: str, source: str | None) -> list[str]:
        keys = [throttle.throttle_key("consumer-waybill", "", waybill),
                throttle.throttle_key("consumer-all", "", "")]
        skey = self._source_key(source)
        return keys if skey is None else [*keys, skey]

    def _count(self, session: Session, waybill: str, source: str | None,
               clock: Clock) -> Refusal | None:
        """Count one more attempt, or refuse it while any counter is locked (the
        attempt that reaches a limit still counts as made; the next one is refused)."""
        now = clock.now()
        keys = self._keys(waybill, source)
        if any(throttle.locked(session, k, now) for k in keys):
            return Refusal(429, WAIT)
        wkey, allkey, *skey = keys
        locked = throttle.hit(session, wkey, now, self.limits.per_waybill)
        throttle.hit(session, allkey, now, self.limits.everyone)
        for k in skey:
            throttle.hit(session, k, now, self.limits.per_source)
        if locked:
            _lock_event(session, waybill, clock)
        return None

    def _source_key(self, source: str | None) -> str | None:
        if not source:
            return None
        return throttle.throttle_key("consumer-source", "", hmac.new(
            self.key, source.encode(), hashlib.sha256).hexdigest())

    def source_refusal(self, session: Session, source: str | None, clock: Clock, *,
                       failed: bool = False) -> Refusal | None:
        """For the portal's other secrets (a reporter's receipt code): WAIT while this
        source is locked; with ``failed``, one more failure is counted first."""
        key = self._source_key(source)
        if key is None:
            return None
        now = clock.now()
        if throttle.locked(session, key, now):
            return Refusal(429, WAIT)
        if failed and throttle.hit(session, key, now, self.limits.per_source):
            return Refusal(429, WAIT)
        return None

    def _mac(self, nonce: str, code: str, party: Party) -> str:
        body = f"{nonce}|{code}|{party.role}|{party.subject_id}|{party.waybill_no}"
        return hmac.new(self.key, body.encode(), hashlib.sha256).hexdigest()

    def request_code(self, session: Session, *, waybill_no: str, phone: str,
                     source: str | None, clock: Clock) -> str | Refusal:
        """A challenge token for the code form. When ``phone`` is on the parcel, a code
        was sent to it; otherwise nothing was, and the token looks the same."""
        waybill = waybill_no.strip().upper()[:64]
        refused = self._count(session, waybill, source, clock)
        if refused is not None:
            return refused
        party = identify(session, self.vault, waybill_no=waybill, phone=phone)
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        nonce = secrets.token_urlsafe(12)
        if party is None:
            # A MAC of a party that does not exist: no code will ever match it.
            mac = self._mac(nonce, code, Party("", secrets.token_hex(8), waybill, "none"))
        else:
            mac = self._mac(nonce, code, party)
            parcel_id = session.scalar(select(Parcel.id).where(
                Parcel.waybill_no == party.waybill_no))
            assert parcel_id is not None  # identify() just found it
            self.notifier.send(session, [Addressee(party.enterprise_id, party.subject_id,
                                                   parcel_id, party.role)],
                               CodeMessage(code, self.limits.code_minutes))
        exp = int((clock.now() + timedelta(minutes=self.limits.code_minutes)).timestamp())
        return str(self._serializer("consumer-challenge").dumps(
            {"w": waybill, "n": nonce, "m": mac, "x": exp}))

    def verify_code(self, session: Session, *, challenge: str, code: str,
                    source: str | None, clock: Clock) -> Party | Refusal:
        """The party the code was sent to, once per challenge; a refusal otherwise."""
        try:
            data: dict[str, Any] = self._serializer("consumer-challenge").loads(challenge)
            waybill, nonce, mac, exp = str(data["w"]), str(data["n"]), str(data["m"]), \
                int(data["x"])
        except (BadSignature, KeyError, TypeError, ValueError):
            return Refusal(401, WRONG_CODE)
        now = clock.now()
        tries = throttle.throttle_key("consumer-code", "", nonce)
        if exp < now.timestamp() or throttle.locked(session, tries, now):
            return Refusal(401, WRONG_CODE)
        if any(throttle.locked(session, k, now) for k in self._keys(waybill, source)):
            return Refusal(429, WAIT)
        typed = "".join(ch for ch in code if ch.isdigit())[:CODE_DIGITS]
        for party in _parties(session, waybill):
            if hmac.compare_digest(mac, self._mac(nonce, typed, party)):
                # Used: the challenge locks for good (longer than it lives).
                throttle.hit(session, tries, now, throttle.Limit(
                    1, timedelta(days=1), timedelta(days=1)))
                return party
        throttle.hit(session, tries, now, throttle.Limit(
            CODE_TRIES, timedelta(days=1), timedelta(days=1)))
        refused = self._count(session, waybill, source, clock)
        return refused or Refusal(401, WRONG_CODE)


# -- the verified session -------------------------------------------------------------


def session_token(key: bytes, party: Party, now: datetime) -> str:
    """What the portal's forms carry once the code was right: the party, signed."""
    exp = int((now + timedelta(minutes=TOKEN_MINUTES)).timestamp())
    return str(URLSafeSerializer(key, salt="consumer-session").dumps(
        [party.enterprise_id, party.subject_id, party.waybill_no, party.role, exp]))


def party_of(key: bytes, token: str, now: datetime) -> Party | None:
    """The party a session token names while it is valid, else None."""
    try:
        ent, subject, waybill, role, exp = URLSafeSerializer(
            key, salt="consumer-session").loads(token)
    except (BadSignature, TypeError, ValueError):
        return None
    if int(exp) < now.timestamp():
        return None
    return Party(str(ent), str(subject), str(waybill), str(role))


def _parties(session: Session, waybill: str) -> list[Party]:
    parcel = session.scalars(select(Parcel).where(Parcel.waybill_no == waybill)).first()
    if parcel is None:
        return []
    return [Party(parcel.enterprise_id, parcel.recipient_subject_id, parcel.waybill_no,
                  "recipient"),
            Party(parcel.enterprise_id, parcel.sender_subject_id, parcel.waybill_no, "sender")]


def _lock_event(session: Session, waybill: str, clock: Clock) -> None:
    """Tell the carrier its parcel's proof was locked: an access event in its log (a
    guessing attack on one of its customers; no address, no phone, no code)."""
    ent = session.scalar(select(Parcel.enterprise_id).where(Parcel.waybill_no == waybill))
    if ent is None:
        return  # nobody's parcel; the counters alone slow the guesser down
    now = clock.now()
    record_events(session, [{
        "event_id": new_id("ev"), "kind": "access", "occurred_at": now.isoformat(),
        "enterprise_id": ent, "actor_type": "external", "actor_id": "consumer-portal",
        "action": "login_failed", "fields": [], "waybill_no": waybill, "record_count": 0,
        "purpose": "security", "outcome": "denied", "channel": "web"}],
        clock_now=clock.now)
