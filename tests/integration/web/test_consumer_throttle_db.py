"""The consumer proof's global counter, on SQLite and PostgreSQL: many sources each
guessing a few times stay under their own limits, yet together they are stopped
(distributed guessing, and the SMS bill)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from parcelguard.channel.throttle import Limit
from parcelguard.core.clock import ManualClock
from parcelguard.incidents.notify import LocalSmsNotifier
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.service import VaultService
from parcelguard.web.consumer_proof import ConsumerProof, Limits, Refusal

HOUR = timedelta(hours=1)


def test_everyone_together_is_stopped_at_the_global_limit(session: Session) -> None:
    vault = VaultService(Vault(InMemoryKms()))
    proof = ConsumerProof(b"k" * 32, Limits(Limit(8, HOUR, HOUR), Limit(30, HOUR, HOUR),
                                            Limit(20, HOUR, HOUR), code_minutes=10),
                          notifier=LocalSmsNotifier(vault), vault=vault)
    clock = ManualClock(datetime(2026, 11, 11, 9, tzinfo=UTC))
    answers = [proof.request_code(session, waybill_no=f"SF{i:013d}", phone="13800138000",
                                  source=f"198.51.100.{i}", clock=clock) for i in range(25)]
    refused = [i for i, a in enumerate(answers) if isinstance(a, Refusal)]
    assert refused == list(range(20, 25))  # one try per source locks no source
    assert {a.status_code for a in answers if isinstance(a, Refusal)} == {429}
    clock.advance(HOUR + timedelta(seconds=1))  # the lock ends with the window
    later = proof.request_code(session, waybill_no="SF0000000000099", phone="13800138000",
                               source="198.51.100.99", clock=clock)
    assert isinstance(later, str)
