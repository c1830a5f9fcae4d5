"""The web layer's own table: staff TOTP secrets.

The secret is sealed by the vault's KMS (AEAD bound to the account id), so a copy
of the database alone cannot mint codes. It lives here rather than as a column on
``accounts`` because identity owns that table and TOTP is a portal concern.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from parcelguard.core.db import Base, UTCDateTime


class WebTotp(Base):
    __tablename__ = "web_totp"
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # Unconfirmed until the first correct code: enrolment on first log-in.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last 30-second step accepted: a code is good once (RFC 6238 §5.2).
    last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
