"""Every table, imported in one place so Alembic (and tests) see the whole schema."""

# -- access --
from parcelguard.access import models as access_models

# -- end access --
# -- audit --
from parcelguard.audit import models as audit_models

# -- end audit --
# -- channel, conduct --
from parcelguard.channel import models as channel_models
from parcelguard.conduct import models as conduct_models

# -- end channel, conduct --
from parcelguard.consent import models as consent_models
from parcelguard.core import outbox as outbox_models  # outbox
from parcelguard.core.db import Base
from parcelguard.identity import models as identity_models

# -- incidents --
from parcelguard.incidents import models as incidents_models

# -- end incidents --
from parcelguard.ledger import models as ledger_models
from parcelguard.logistics import models as logistics_models

# -- monitor --
from parcelguard.monitor import models as monitor_models

# -- end monitor --
from parcelguard.node import models as node_models  # nodes
from parcelguard.supervision import models as supervision_models
from parcelguard.vault import models as vault_models

# -- waybill: labels, virtual numbers, partners, shares --
from parcelguard.waybill import models as waybill_models

# -- end waybill --
# -- web: staff TOTP --
from parcelguard.web import models as web_models

# -- end web --

metadata = Base.metadata

__all__ = [
    "access_models",  # access
    "audit_models",  # audit
    "channel_models",  # channel
    "conduct_models",  # conduct
    "consent_models",
    "identity_models",
    "incidents_models",  # incidents
    "ledger_models",
    "logistics_models",
    "metadata",
    "monitor_models",  # monitor
    "node_models",  # nodes
    "outbox_models",  # outbox
    "supervision_models",
    "vault_models",
    "waybill_models",
    "web_models",  # web
]
