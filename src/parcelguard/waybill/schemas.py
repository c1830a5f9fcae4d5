"""Waybill API bodies and answers (the gate-bound ones, labels, resolution, partners
and shares, are in ``access/schemas.py``). No answer carries an unmasked value."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from parcelguard.waybill.models import VirtualBinding
from parcelguard.waybill.read import BindingInfo
from parcelguard.waybill.virtual import display_number


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MaskIn(_In):
    field: Literal["name", "phone", "address", "id_number"]
    value: str = Field(max_length=500)


class MaskRead(BaseModel):
    masked: str


class LabelCount(BaseModel):
    labels_issued: int


class TokenRead(BaseModel):
    waybill_no: str
    label_id: str
    issued_at: datetime


class BindingRead(BaseModel):
    id: str
    waybill_no: str
    mode: str
    virtual_number: str
    courier_id: str | None
    window_starts_at: datetime | None
    window_ends_at: datetime | None
    bound_at: datetime
    expires_at: datetime | None
    expired_at: datetime | None

    @classmethod
    def of(cls, b: VirtualBinding | BindingInfo) -> BindingRead:
        return cls(id=b.id, waybill_no=b.waybill_no, mode=b.mode,
                   virtual_number=display_number(b), courier_id=b.courier_id,
                   window_starts_at=b.window_starts_at, window_ends_at=b.window_ends_at,
                   bound_at=b.bound_at, expires_at=b.expires_at, expired_at=b.expired_at)
