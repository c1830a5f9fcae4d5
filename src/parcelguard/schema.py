"""Every table, imported in one place so Alembic (and tests) see the whole schema."""

from parcelguard.core.db import Base
from parcelguard.identity import models as identity_models
from parcelguard.ledger import models as ledger_models
from parcelguard.logistics import models as logistics_models
from parcelguard.vault import models as vault_models

metadata = Base.metadata

__all__ = ["identity_models", "ledger_models", "logistics_models", "metadata", "vault_models"]
