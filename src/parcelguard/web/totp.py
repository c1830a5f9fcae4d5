"""Staff TOTP (RFC 6238) with secrets sealed by the vault's KMS.

Enrolment happens on first log-in: a secret is created unconfirmed and shown once
the password is right; the first correct code confirms it. Each accepted code's
30-second step is remembered, so a code observed over a shoulder cannot be replayed.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyotp
from sqlalchemy.orm import Session

from parcelguard.vault.kms import Kms
from parcelguard.web.models import WebTotp

STEP_SECONDS = 30  # RFC 6238 default; every authenticator app uses it


def _context(account_id: str) -> bytes:
    # Binds the sealed secret to its account: swapping rows between accounts fails.
    return f"parcelguard/web_totp/{account_id}".encode()


@dataclass(frozen=True)
class Enrolment:
    account_id: str
    secret: str = field(repr=False)
    confirmed: bool


def enrol(session: Session, kms: Kms, *, account_id: str, at: datetime,
          reset: bool = False) -> Enrolment:
    """The account's secret: an unconfirmed one is reused (so a reload shows the same
    secret); a confirmed one is replaced only with ``reset`` (an administrator's or
    the demo's decision)."""
    row = session.get(WebTotp, account_id)
    if row is not None and not reset:
        return Enrolment(account_id, secret_of(kms, row), row.confirmed_at is not None)
    secret = pyotp.random_base32()
    sealed = kms.wrap(secret.encode(), _context(account_id))
    if row is None:
        row = WebTotp(account_id=account_id, secret_sealed=sealed, confirmed_at=None,
                      last_step=0, created_at=at)
        session.add(row)
    else:
        row.secret_sealed, row.confirmed_at, row.last_step = sealed, None, 0
    session.flush()
    return Enrolment(account_id, secret, False)


def confirm(session: Session, *, account_id: str, at: datetime) -> None:
    """Mark a secret confirmed without a code (provisioning by the operator)."""
    row = session.get(WebTotp, account_id)
    if row is not None and row.confirmed_at is None:
        row.confirmed_at = at


def secret_of(kms: Kms, row: WebTotp) -> str:
    return kms.unwrap(row.secret_sealed, _context(row.account_id)).decode()


def current_code(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def verify(session: Session, kms: Kms, *, account_id: str, code: str, at: datetime,
           drift_steps: int = 1) -> bool:
    """True for a correct code not used before; confirms an enrolment."""
    row = session.get(WebTotp, account_id)
    code = code.strip().replace(" ", "")
    if row is None or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(secret_of(kms, row))
    for offset in range(-drift_steps, drift_steps + 1):
        t = at + timedelta(seconds=offset * STEP_SECONDS)
        step = int(t.timestamp()) // STEP_SECONDS
        if step > row.last_step and hmac.compare_digest(totp.at(t), code):
            row.last_step = step
            if row.confirmed_at is None:
                row.confirmed_at = at
            session.flush()
            return True
    return False


def provisioning_uri(secret: str, *, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)
