"""The telephony seam for virtual numbers, and the local simulator.

GB/T 41833-2022 recommends printing a *virtual security number* instead of the
recipient's phone: the courier dials a number bound to the real one, and the
binding ends after delivery. Two binding shapes are in use:

* **AXB**: number X is bound to the pair (A = courier, B = recipient). A dialling X
  reaches B and B dialling X reaches A; on one X each party may be in only one
  live binding.
* **AXN with extension**: host number X plus a 4-digit extension E identify the
  parcel; the bound caller dials X, enters E and is connected. One host number
  serves up to 10,000 parcels, and the number can be printed before a courier is
  assigned, which is why carriers print it on labels.

The provider holds bindings by *endpoint reference* (``employee:<id>``,
``subject:<id>``), not by phone number: the real number is handed over only for
the one call being connected (``place_call``), after parcelguard has checked that
the caller is the bound courier inside the assignment window. What the caller's
client gets back (`CallReceipt`) never contains the callee's number.

A real operator (or the carrier's own switch) implements `Telephony`; `waybill/provider.py`
chooses it. `LocalTelephony` places no calls and only records them.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Protocol

from parcelguard.core.ids import new_id

# Virtual-operator (MVNO) mobile ranges: numbers there are never a person's own
# handset, so a printed 170/171 number is recognisably a relay. Host numbers for
# extensions come from 170, pair-bound numbers from 171.
HOST_PREFIX: Final = {"axn_ext": "170", "axb": "171"}
EXTENSION_DIGITS: Final = 4


class BindingMode(StrEnum):
    AXB = "axb"
    AXN_EXT = "axn_ext"


def courier_endpoint(employee_id: str) -> str:
    """The provider-side reference of a courier's registered work line."""
    return f"employee:{employee_id}"


def recipient_endpoint(subject_id: str) -> str:
    """The provider-side reference of a recipient (a pseudonymous subject id)."""
    return f"subject:{subject_id}"


@dataclass(frozen=True, slots=True)
class CallReceipt:
    """What the caller's client learns about a call: never the callee's number."""

    call_id: str
    connected: bool
    dialled: str  # the virtual number (and extension) the caller dialled


class Telephony(Protocol):
    """A provider of virtual numbers (an operator's privacy-number service or the
    carrier's own switch)."""

    def lease_number(self, *, enterprise_id: str, mode: BindingMode) -> str:
        """A new host number for the enterprise's pool."""
        ...

    def bind_axb(self, *, binding_id: str, number: str, party_a: str, party_b: str) -> None:
        """Bind ``number`` to the pair (courier ``party_a``, recipient ``party_b``)."""
        ...

    def bind_axn(self, *, binding_id: str, number: str, extension: str,
                 party_a: str | None, party_b: str) -> None:
        """Bind ``number`` + ``extension`` to recipient ``party_b``; ``party_a`` is the
        courier allowed to call through it (None until one is assigned)."""
        ...

    def unbind(self, *, binding_id: str) -> None:
        """End a binding; calls through it are refused from now on."""
        ...

    def place_call(self, *, binding_id: str, caller: str, number: str,
                   extension: str | None, callee_phone: str) -> CallReceipt:
        """Connect ``caller`` to ``callee_phone`` through the binding, showing the
        virtual number on both sides."""
        ...


@dataclass(frozen=True, slots=True)
class SimulatedBinding:
    number: str
    extension: str | None
    party_a: str | None
    party_b: str


@dataclass(frozen=True, slots=True)
class SimulatedCall:
    """One call the simulator 'placed'. ``routed_to`` is the real number it would
    have rung: kept for tests of the routing, hidden from repr so it never lands in
    a log or a failing test's output."""

    call_id: str
    binding_id: str
    caller: str
    dialled: str
    routed_to: str = field(repr=False)


def dialled(number: str, extension: str | None) -> str:
    """The virtual number as printed and dialled: ``170 1234 5678 转 0420``."""
    spaced = f"{number[:3]} {number[3:7]} {number[7:]}"
    return f"{spaced} 转 {extension}" if extension else spaced


class LocalTelephony:
    """The embedded simulator: leases numbers from the 170/171 ranges, records
    bindings and calls in memory, rings nobody.

    Routing decisions are parcelguard's (`virtual.place_call` checks the binding in
    the database before calling here), so a restarted process routes calls all the
    same; the in-memory binding table is for inspection.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bindings: dict[str, SimulatedBinding] = {}
        self.unbound: list[str] = []
        self.calls: list[SimulatedCall] = []

    def __repr__(self) -> str:
        return f"LocalTelephony(bindings={len(self.bindings)}, calls={len(self.calls)})"

    def lease_number(self, *, enterprise_id: str, mode: BindingMode) -> str:
        del enterprise_id  # a real operator bills the lease to the enterprise
        # Random, not sequential: several processes lease against one database, and
        # the pool retries the rare number already taken.
        return HOST_PREFIX[mode] + f"{secrets.randbelow(10**8):08d}"

    def bind_axb(self, *, binding_id: str, number: str, party_a: str, party_b: str) -> None:
        with self._lock:
            self.bindings[binding_id] = SimulatedBinding(number, None, party_a, party_b)

    def bind_axn(self, *, binding_id: str, number: str, extension: str,
                 party_a: str | None, party_b: str) -> None:
        with self._lock:
            self.bindings[binding_id] = SimulatedBinding(number, extension, party_a, party_b)

    def unbind(self, *, binding_id: str) -> None:
        with self._lock:
            self.bindings.pop(binding_id, None)
            self.unbound.append(binding_id)

    def place_call(self, *, binding_id: str, caller: str, number: str,
                   extension: str | None, callee_phone: str) -> CallReceipt:
        call = SimulatedCall(call_id=new_id("call"), binding_id=binding_id, caller=caller,
                             dialled=dialled(number, extension), routed_to=callee_phone)
        with self._lock:
            self.calls.append(call)
        return CallReceipt(call_id=call.call_id, connected=True, dialled=call.dialled)
