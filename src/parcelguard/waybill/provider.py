"""The process's virtual-number provider, chosen by ``waybill.telephony``: the local
simulator by default. A deployment with a real operator (or its own switch) adds its
choice here."""

from __future__ import annotations

from parcelguard.core.settings import Settings
from parcelguard.waybill.settings import WaybillSettings
from parcelguard.waybill.telephony import LocalTelephony, Telephony

_TELEPHONY: dict[str, Telephony] = {}


def telephony(settings: Settings) -> Telephony:
    choice = settings.section(WaybillSettings).telephony
    if choice not in _TELEPHONY:
        if choice != "local":
            raise ValueError(f"unknown telephony provider {choice!r}")
        _TELEPHONY[choice] = LocalTelephony()
    return _TELEPHONY[choice]
