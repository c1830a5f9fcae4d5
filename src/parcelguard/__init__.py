"""parcelguard: protection and pluralistic supervision of consumers' personal
information in e-commerce parcel logistics."""

__version__ = "0.1.0"

# The composition root: every package that plugs itself in (its ``plugin.py``,
# core/plugin.py), in the order their API hooks run. Adding a capability adds a line.
PACKAGES = (
    "identity", "vault", "ledger",
    "logistics", "consent", "waybill",
    "access",
    "monitor", "conduct", "channel",
    "incidents", "audit", "supervision",
    "ops", "node", "simulation", "bridges", "web",
)
