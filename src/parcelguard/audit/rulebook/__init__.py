"""The rulebook: the versioned catalogue of controls, kept as data beside this module
(``controls-v1.json``) so auditors, enterprises and the regulator read one text and
a change to it is a reviewed diff, not code scattered around.

JSON rather than TOML because the package ships ``**/*.json`` as package data.
Loading validates everything a typo could break: unique ids, a known check kind, an
evaluator that exists, thresholds in the right order, weights that are positive.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from parcelguard.core.canonical import canonical_json

DEFAULT_PATH = Path(__file__).with_name("controls-v1.json")
CHECK_KINDS = ("automated", "attestation")
ON_FAIL = ("rectify", "incident")


class RulebookError(ValueError):
    """The rulebook file is malformed; the message names the control and the field."""


@dataclass(frozen=True)
class Scoring:
    """How a measured value becomes a score in 0..1: 1 at or beyond ``pass_at``, 0 at
    or beyond ``fail_at``, linear in between. ``direction`` says which way is good."""

    metric: str
    direction: Literal["higher", "lower"]
    pass_at: float
    fail_at: float

    def score(self, value: float) -> float:
        if self.direction == "higher":
            if value >= self.pass_at:
                return 1.0
            if value <= self.fail_at:
                return 0.0
            return (value - self.fail_at) / (self.pass_at - self.fail_at)
        if value <= self.pass_at:
            return 1.0
        if value >= self.fail_at:
            return 0.0
        return (self.fail_at - value) / (self.fail_at - self.pass_at)


@dataclass(frozen=True)
class Control:
    id: str
    version: int
    title_zh: str
    title_en: str
    legal_basis: tuple[str, ...]
    check: Literal["automated", "attestation"]
    evaluator: str
    description: str
    weight: float
    scoring: Scoring
    on_fail: Literal["rectify", "incident"]
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rulebook:
    id: str
    version: str
    title_zh: str
    title_en: str
    effective: str
    controls: tuple[Control, ...]
    sha256: str  # of the canonical JSON of the file: what a report cites

    def get(self, control_id: str) -> Control:
        for c in self.controls:
            if c.id == control_id:
                return c
        raise KeyError(control_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.controls)

    def select(self, ids: Iterable[str] | None) -> tuple[Control, ...]:
        """The controls named (all when ``ids`` is None), in rulebook order."""
        if ids is None:
            return self.controls
        wanted = set(ids)
        unknown = wanted - set(self.ids)
        if unknown:
            raise RulebookError(f"unknown control ids: {', '.join(sorted(unknown))}")
        return tuple(c for c in self.controls if c.id in wanted)


def _req(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise RulebookError(f"{where}: missing {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise RulebookError(f"{where}: {key!r} has the wrong type")
    return value


def _scoring(raw: Mapping[str, Any], where: str) -> Scoring:
    direction = _req(raw, "direction", str, where)
    if direction not in ("higher", "lower"):
        raise RulebookError(f"{where}: direction must be 'higher' or 'lower'")
    pass_at = float(_req(raw, "pass_at", (int, float), where))
    fail_at = float(_req(raw, "fail_at", (int, float), where))
    if (direction == "higher" and not fail_at < pass_at) or (
            direction == "lower" and not pass_at < fail_at):
        raise RulebookError(f"{where}: fail_at must be on the bad side of pass_at")
    return Scoring(_req(raw, "metric", str, where), direction, pass_at, fail_at)


def parse(doc: Mapping[str, Any], known_evaluators: Iterable[str]) -> Rulebook:
    """Validate a rulebook document; ``known_evaluators`` are the evaluator names the
    code provides (every control must name one of them)."""
    known = set(known_evaluators)
    head = _req(doc, "rulebook", dict, "rulebook")
    raw_controls = _req(doc, "controls", list, "rulebook")
    controls: list[Control] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_controls):
        where = f"control #{i + 1}"
        cid = _req(raw, "id", str, where)
        where = f"control {cid}"
        if cid in seen:
            raise RulebookError(f"{where}: duplicate id")
        seen.add(cid)
        check = _req(raw, "check", str, where)
        if check not in CHECK_KINDS:
            raise RulebookError(f"{where}: check must be one of {', '.join(CHECK_KINDS)}")
        evaluator = _req(raw, "evaluator", str, where)
        if evaluator not in known:
            raise RulebookError(f"{where}: no evaluator named {evaluator!r}")
        weight = float(_req(raw, "weight", (int, float), where))
        if weight <= 0:
            raise RulebookError(f"{where}: weight must be positive")
        on_fail = raw.get("on_fail", "rectify")
        if on_fail not in ON_FAIL:
            raise RulebookError(f"{where}: on_fail must be one of {', '.join(ON_FAIL)}")
        basis = _req(raw, "legal_basis", list, where)
        if not basis or not all(isinstance(b, str) and b for b in basis):
            raise RulebookError(f"{where}: legal_basis must name at least one source")
        controls.append(Control(
            id=cid, version=int(_req(raw, "version", int, where)),
            title_zh=_req(raw, "title_zh", str, where), title_en=_req(raw, "title_en", str, where),
            legal_basis=tuple(basis), check=check, evaluator=evaluator,
            description=_req(raw, "description", str, where), weight=weight,
            scoring=_scoring(_req(raw, "scoring", dict, where), where),
            on_fail=on_fail, params=dict(raw.get("params") or {})))
    if not controls:
        raise RulebookError("rulebook: no controls")
    return Rulebook(
        id=_req(head, "id", str, "rulebook"), version=_req(head, "version", str, "rulebook"),
        title_zh=_req(head, "title_zh", str, "rulebook"),
        title_en=_req(head, "title_en", str, "rulebook"),
        effective=_req(head, "effective", str, "rulebook"), controls=tuple(controls),
        sha256=hashlib.sha256(canonical_json(dict(doc))).hexdigest())


@lru_cache(maxsize=8)
def load_with(path: str, evaluators: tuple[str, ...]) -> Rulebook:
    """The rulebook at ``path``, its controls checked against the names of the
    evaluators that exist (``audit.controls.load_rulebook`` passes them)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RulebookError(f"cannot read rulebook {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise RulebookError("rulebook: the file must hold a JSON object")
    return parse(doc, evaluators)
