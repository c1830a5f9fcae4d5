"""Fixtures for the vault's crypto core: an in-memory KMS, a vault and a keyset.

Values are synthetic (example phone numbers and addresses); no test prints them.
"""

from __future__ import annotations

import pytest

from parcelguard.vault.facade import Vault
from parcelguard.vault.keys import KeysetRecord
from parcelguard.vault.kms import InMemoryKms


@pytest.fixture
def kms() -> InMemoryKms:
    return InMemoryKms()


@pytest.fixture
def vault(kms: InMemoryKms) -> Vault:
    return Vault(kms)


@pytest.fixture
def keyset(vault: Vault) -> KeysetRecord:
    return vault.new_keyset("ent-a")
