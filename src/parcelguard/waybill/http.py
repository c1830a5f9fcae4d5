"""The process's telephony provider for HTTP handlers; the app factory chooses it
(``app.state.telephony``, from ``waybill/provider.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from parcelguard.waybill.telephony import Telephony


def telephony_dep(request: Request) -> Telephony:
    t: Telephony = request.app.state.telephony
    return t


TelephonyDep = Annotated[Telephony, Depends(telephony_dep)]
