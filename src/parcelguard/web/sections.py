"""The building blocks of staff portal pages: sections of tables with per-row
action buttons and optional forms, rendered by ``templates/sections.html``. Most
staff pages are lists of cases with a few actions; one accessible template for all
of them keeps markup (captions, scoped headers, labelled controls) consistent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Cell:
    text: Any
    href: str | None = None
    cls: str | None = None
    translate: bool = False  # a status or kind code with a catalog entry
    args: dict[str, Any] = field(default_factory=dict)  # %(name)s values of a msgid
    # The owner's own English text, fuller than the msgid; shown on English pages.
    english: str | None = None


@dataclass(frozen=True)
class Input:
    name: str
    label: str
    kind: str = "text"  # text | textarea | select | checkbox | number
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for select
    required: bool = False
    value: str = ""


@dataclass(frozen=True)
class Action:
    url: str
    label: str
    hidden: dict[str, str] = field(default_factory=dict)
    inputs: tuple[Input, ...] = ()
    secondary: bool = False


@dataclass
class Section:
    title: str
    columns: list[str] = field(default_factory=list)  # header labels (msgids)
    rows: list[list[Cell]] = field(default_factory=list)
    actions: list[list[Action]] = field(default_factory=list)  # per row, parallel to rows
    intro: str | None = None  # msgid shown above the table
    forms: list[Action] = field(default_factory=list)  # stand-alone forms below the table
    empty: str = "Nothing here."
    facts: list[tuple[str, Any]] = field(default_factory=list)  # key/value list (msgid, value)
    html_id: str | None = None
    # A document rendered by its owner (a privacy notice; escaped there): shown in a
    # scroll region under the facts.
    html: Any = None

    def add(self, cells: list[Cell | str | int | float | datetime | None],
            actions: list[Action] | None = None) -> None:
        self.rows.append([c if isinstance(c, Cell) else Cell(c) for c in cells])
        self.actions.append(actions or [])


def due_cell(due: datetime | None, done: datetime | None, now: datetime) -> Cell:
    """A deadline timer: time left, or how long overdue (flagged)."""
    if due is None:
        return Cell("—")
    if done is not None:
        return Cell("on time" if done <= due else "late", cls=None if done <= due else "overdue",
                    translate=True)
    left = due - now
    hours = left.total_seconds() / 3600
    if hours < 0:
        return Cell("%(h)s h overdue", cls="overdue", translate=True,
                    args={"h": f"{abs(hours):.1f}"})
    return Cell("%(h)s h left", cls="warn" if hours < 1 else None, translate=True,
                args={"h": f"{hours:.1f}"})


PAGE_SIZE = 25


@dataclass
class Table:
    """What a long table shows: rows matching the search, sorted, one page of them,
    and the links to change any of it. Plain query parameters (``<id>-q``,
    ``<id>-sort``, ``<id>-desc``, ``<id>-page``) so it works without JavaScript and a
    view can be bookmarked."""

    rows: list[list[Cell]]
    actions: list[list[Action]]
    total: int
    q: str = ""
    sort: int | None = None
    desc: bool = False
    page: int = 1
    pages: int = 1


def _key(cell: Cell, translate: Any) -> tuple[int, Any]:
    v = cell.text
    if isinstance(v, datetime):
        return (0, v.timestamp())
    if isinstance(v, int | float) and not isinstance(v, bool):
        return (0, float(v))
    if v is None:
        return (2, "")
    return (1, str(translate(v, **cell.args) if cell.translate else v).casefold())


def tabulate(section: Section, params: dict[str, str], translate: Any, sid: str) -> Table:
    """Search (any cell, as shown or as stored), sort by one column, page. ``sid``:
    the table's id on the page, the prefix of its parameters."""
    q = params.get(f"{sid}-q", "").strip()[:100]
    pairs = list(zip(section.rows, section.actions, strict=True))
    if q:
        needle = q.casefold()
        pairs = [(r, a) for r, a in pairs if any(
            needle in str(c.text).casefold() or (c.translate and c.text is not None and
                                                 needle in translate(c.text, **c.args).casefold())
            for c in r)]
    sort = params.get(f"{sid}-sort", "")
    col = int(sort) if sort.isdigit() and int(sort) < len(section.columns) else None
    desc = params.get(f"{sid}-desc") == "1"
    if col is not None:
        pairs.sort(key=lambda p: _key(p[0][col], translate) if col < len(p[0]) else (2, ""),
                   reverse=desc)
    pages = max(1, -(-len(pairs) // PAGE_SIZE))
    raw = params.get(f"{sid}-page", "1")
    page = min(max(int(raw), 1), pages) if raw.isdigit() and len(raw) < 7 else 1
    shown = pairs[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    return Table([r for r, _ in shown], [a for _, a in shown], len(pairs), q, col, desc,
                 page, pages)
