"""Evaluation windows and the rules that turn them into rewards and sanctions. Pure.

The rules (parameters in ``ConductSettings``), strongest first:

- police_referral (proposed): repeated low ratings *and* an evidence link about the
  employee: a monitor alert, an access anomaly (canary hit) or a leak cluster from
  the channel. Ratings and consumers' tags are opinions, not evidence: without a
  link they call for a review, never the police. A proposed referral goes to the
  police only once a person with ``conduct:manage`` confirms it
  (``service.confirm_referral``).
- review: repeated low ratings with privacy tags but no evidence link: a supervisor
  looks into it (the monitor may yet find something).
- suspension: several privacy tags: PI access is suspended until reviewed.
- warning (+ training): a low mean over enough evaluations, or any privacy tag;
  privacy tags add privacy training.
- reward: enough evaluations, a high mean, no privacy tag and no leak sign.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from parcelguard.conduct.settings import ConductSettings
from parcelguard.core.errors import InvalidInput

PRIVACY_TAGS: Final = ("personal_phone_call", "label_exposed", "unnecessary_info",
                       "data_misuse")
SERVICE_TAGS: Final = ("on_time", "polite", "careful_handling", "late", "rude", "damaged",
                       "left_without_notice")
TAGS: Final = (*PRIVACY_TAGS, *SERVICE_TAGS)
DECISION_KINDS: Final = ("reward", "review", "warning", "training", "suspension",
                          "police_referral")
SANCTIONS: Final = frozenset({"warning", "training", "suspension", "police_referral"})
MAX_TAGS = 8


def check_evaluation(rating: int, tags: Iterable[str]) -> list[str]:
    if not 1 <= rating <= 5:
        raise InvalidInput("rating: 1 to 5")
    out = sorted(set(tags))
    if len(out) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags")
    unknown = [t for t in out if t not in TAGS]
    if unknown:
        raise InvalidInput(f"unknown tags: {', '.join(unknown)} (known: {', '.join(TAGS)})")
    return out


def has_privacy_tag(tags: Iterable[str]) -> bool:
    return any(t in PRIVACY_TAGS for t in tags)


@dataclass(frozen=True)
class Window:
    """An employee's rolling figures."""

    evaluations: int
    mean: float | None
    low: int
    privacy_tags: int  # evaluations carrying at least one privacy tag
    leak_signals: int
    tags: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"evaluations": self.evaluations, "mean": self.mean, "low": self.low,
                "privacy_tags": self.privacy_tags, "leak_signals": self.leak_signals,
                "tags": dict(self.tags)}


def window(evaluations: Iterable[tuple[int, Iterable[str]]], *, leak_signals: int,
           low_rating: int) -> Window:
    ratings: list[int] = []
    low = privacy = 0
    tags: Counter[str] = Counter()
    for rating, ev_tags in evaluations:
        ts = list(ev_tags)
        ratings.append(rating)
        low += rating <= low_rating
        privacy += has_privacy_tag(ts)
        tags.update(ts)
    mean = round(sum(ratings) / len(ratings), 3) if ratings else None
    return Window(len(ratings), mean, low, privacy, leak_signals, dict(sorted(tags.items())))


@dataclass(frozen=True)
class Verdict:
    kind: str
    rule: str


def decide(w: Window, s: ConductSettings) -> list[Verdict]:
    """What the window calls for (several sanctions can apply at once)."""
    out: list[Verdict] = []
    if w.low >= s.referral_low_ratings and w.leak_signals:
        out.append(Verdict("police_referral",
                           f"{w.low} low ratings (<= {s.low_rating}) with "
                           f"{w.leak_signals} evidence links (alerts, access anomalies, "
                           f"leak clusters) in the window"))
    elif w.low >= s.referral_low_ratings and w.privacy_tags:
        out.append(Verdict("review", f"{w.low} low ratings (<= {s.low_rating}) with "
                           f"{w.privacy_tags} privacy-tagged evaluations and no evidence "
                           "link: review, not a police matter"))
    if w.privacy_tags >= s.suspension_privacy_tags:
        out.append(Verdict("suspension", f"{w.privacy_tags} privacy-tagged evaluations "
                           f"(>= {s.suspension_privacy_tags}) in the window"))
    low_mean = (w.evaluations >= s.warning_min_evaluations and w.mean is not None
                and w.mean < s.warning_max_mean)
    if low_mean or w.privacy_tags:
        why = (f"mean rating {w.mean} below {s.warning_max_mean}" if low_mean
               else f"{w.privacy_tags} privacy-tagged evaluations")
        out.append(Verdict("warning", why))
    if w.privacy_tags >= s.training_privacy_tags:
        out.append(Verdict("training", "privacy training after privacy-tagged evaluations"))
    if (not out and w.evaluations >= s.reward_min_evaluations and w.mean is not None
            and w.mean >= s.reward_min_mean and not w.privacy_tags and not w.leak_signals):
        out.append(Verdict("reward", f"mean rating {w.mean} over {w.evaluations} "
                           "evaluations with no privacy concern"))
    return out
