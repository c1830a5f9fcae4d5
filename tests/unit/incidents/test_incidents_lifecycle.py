"""The incident lifecycle refuses every illegal move and guards the legal ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise, product

import pytest

from parcelguard.core.errors import InvalidInput
from parcelguard.incidents.model import (
    NEXT,
    ORDER,
    Facts,
    IllegalTransition,
    IncidentMoved,
    Lifecycle,
    State,
)

T0 = datetime(2026, 11, 10, 14, 30, tzinfo=UTC)
LEGAL = set(pairwise(ORDER))
READY = Facts(initial_reports_pending=0, open_tasks=0, summary_filed=True)


def _at(state: State) -> Lifecycle:
    return Lifecycle("inc-1", "ent-a", state, T0)


def test_the_legal_path_runs_start_to_finish_and_records_each_move() -> None:
    life = Lifecycle("inc-1", "ent-a")
    for i, target in enumerate(ORDER[1:], start=1):
        moved = life.move(target, at=T0 + timedelta(minutes=i), by="ent-a/acc-1", facts=READY)
        assert moved.to_state == target.value
    assert life.state is State.REVIEWED
    assert [(e.from_state, e.to_state) for e in life.events] == [
        (a.value, b.value) for a, b in pairwise(ORDER)]
    assert all(isinstance(e, IncidentMoved) and e.by == "ent-a/acc-1" for e in life.events)


@pytest.mark.parametrize(("source", "target"),
                         [p for p in product(ORDER, ORDER) if p not in LEGAL],
                         ids=lambda s: s.value)
def test_every_illegal_move_is_refused_and_changes_nothing(source: State,
                                                           target: State) -> None:
    life = _at(source)
    with pytest.raises(IllegalTransition) as exc:
        life.move(target, at=T0 + timedelta(hours=1), by="x", facts=READY)
    assert life.state is source
    assert life.events == []
    assert life.last_at == T0
    assert source.value in exc.value.message
    assert target.value in exc.value.message


def test_the_message_names_the_one_allowed_next_state() -> None:
    with pytest.raises(IllegalTransition, match="next allowed: only triaged"):
        _at(State.DETECTED).move(State.RESOLVED, at=T0, by="x", facts=READY)
    with pytest.raises(IllegalTransition, match="closed"):
        _at(State.REVIEWED).move(State.DETECTED, at=T0, by="x", facts=READY)


def test_reported_needs_every_initial_report_filed() -> None:
    life = _at(State.CONTAINED)
    with pytest.raises(IllegalTransition, match="2 initial report"):
        life.move(State.REPORTED, at=T0, by="x", facts=Facts(initial_reports_pending=2))
    life.move(State.REPORTED, at=T0, by="x", facts=Facts(initial_reports_pending=0))
    assert life.state is State.REPORTED


def test_resolved_needs_the_playbook_tasks_done() -> None:
    with pytest.raises(IllegalTransition, match="1 playbook task"):
        _at(State.REPORTED).move(State.RESOLVED, at=T0, by="x", facts=Facts(open_tasks=1))


def test_reviewed_needs_the_summary_report() -> None:
    with pytest.raises(IllegalTransition, match="summary"):
        _at(State.RESOLVED).move(State.REVIEWED, at=T0, by="x",
                                 facts=Facts(summary_filed=False))


def test_a_move_cannot_be_dated_before_the_previous_one() -> None:
    with pytest.raises(IllegalTransition, match="before the previous"):
        _at(State.DETECTED).move(State.TRIAGED, at=T0 - timedelta(seconds=1), by="x",
                                 facts=READY)


def test_unknown_states_and_naive_times_are_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown state"):
        _at(State.DETECTED).move("closed", at=T0, by="x", facts=READY)
    with pytest.raises(InvalidInput, match="time zone"):
        _at(State.DETECTED).move(State.TRIAGED, at=datetime(2026, 11, 10), by="x",
                                 facts=READY)


def test_states_are_strictly_linear() -> None:
    assert list(NEXT) == list(ORDER[:-1])
    assert set(NEXT.items()) == LEGAL
