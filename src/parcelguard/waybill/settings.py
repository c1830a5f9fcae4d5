"""The waybill's section of the settings tree: privacy labels and virtual numbers
(``PARCELGUARD_WAYBILL__*``).

Registered by ``waybill/plugin.py`` (``Plugin.settings``); core/settings.py builds the tree."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class WaybillSettings(BaseModel):
    """Privacy waybill labels and virtual numbers."""

    binding_grace_days: int = Field(
        15,
        ge=0,
        le=90,
        description="Days a virtual-number binding stays live after delivery, so the "
        "recipient can still reach the courier about the parcel (common practice: 15 "
        "days after the trade); then the number is unbound and reused.",
    )
    binding_mode: Literal["axn_ext", "axb"] = Field(
        "axn_ext",
        description="How a courier is bound to a recipient when no label was printed "
        "yet: axn_ext (a host number plus a 4-digit extension; one number serves 10,000 "
        "parcels) or axb (a number bound to the courier-recipient pair).",
    )
    telephony: Literal["local"] = Field(
        "local",
        description="Telephony provider for virtual numbers. local: the built-in "
        "simulator (records calls in memory, places no real calls).",
    )
    label_font_path: Path | None = Field(
        None,
        description="TrueType CJK font embedded in printed labels (.ttf/.ttc). Default: "
        "WenQuanYi Micro Hei vendored with parcelguard (hash-pinned), else a system "
        "font; CFF-based .otf fonts cannot be embedded.",
    )
