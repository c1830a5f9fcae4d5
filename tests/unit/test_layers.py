"""The import direction of ../shared/ARCHITECTURE.md, enforced: a package imports
only packages of lower rows; same-row packages talk through events (the outbox)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "parcelguard"

ROWS = [
    {"core"},
    {"identity", "vault", "ledger"},
    {"logistics", "consent", "waybill"},
    {"access"},
    {"monitor", "conduct", "channel"},
    {"incidents", "audit", "supervision"},
    {"simulation", "reporting", "web", "cli", "app", "bridges", "schema", "migrations", "ops",
     "node", "__main__"},
]
ROW_OF = {pkg: i for i, row in enumerate(ROWS) for pkg in row}

# Known departures, each to be removed by moving the code where ARCHITECTURE.md puts
# it; an entry reads "<module> imports <package>". None today: partner sharing, label
# issuing, virtual-number resolution and data-subject request fulfilment moved to
# access/, sub-apps get their services from vault/provider.py and waybill/provider.py,
# and reactions between same-row packages live in bridges/. A new departure fails.
KNOWN: set[str] = set()


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "parcelguard" and len(parts) > 1:
                out.add(parts[1])
    return out


def violations() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        owner = rel.parts[0].removesuffix(".py")
        if owner == "__init__":
            continue
        if owner not in ROW_OF:
            found.append(f"{rel}: package {owner!r} has no row in ARCHITECTURE.md")
            continue
        for dep in _imports(path):
            if dep == owner or dep not in ROW_OF:
                continue
            if ROW_OF[dep] > ROW_OF[owner] or (
                    ROW_OF[dep] == ROW_OF[owner] and ROW_OF[owner] < len(ROWS) - 1):
                found.append(f"{rel} imports {dep}")
    return found


def test_imports_follow_the_architecture() -> None:
    assert sorted(set(violations()) - KNOWN) == []


def test_the_known_departures_are_still_real() -> None:
    # an entry fixed in the code must leave the list too
    assert sorted(KNOWN - set(violations())) == []


# Packages whose tables others read only through their read API (``<pkg>/read.py``,
# plain values), never through their ORM models. The top row (portals, simulation,
# operations) composes everything and is exempt.
READ_APIS = {"access", "channel", "conduct", "consent", "identity", "ledger", "logistics",
             "monitor", "vault", "waybill"}
# Imports of such a package's models still made from outside, each with its planned
# fix; an entry fixed in the code must leave the list too.
READ_API_DEPARTURES: dict[str, str] = {}


def test_packages_with_a_read_api_are_read_through_it() -> None:
    top = ROWS[-1]
    found = []
    for path in sorted(SRC.rglob("*.py")):
        owner = path.relative_to(SRC).parts[0].removesuffix(".py")
        if owner in top:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if (len(parts) == 3 and parts[1] in READ_APIS and parts[1] != owner
                        and parts[2] == "models"):
                    found.append(f"{path.relative_to(SRC)} imports {node.module}")
    assert sorted(set(found) - set(READ_API_DEPARTURES)) == []
    assert sorted(set(READ_API_DEPARTURES) - set(found)) == []


def _module_graph() -> dict[str, set[str]]:
    """Module -> the parcelguard modules it imports when it runs: at module level and
    inside functions alike (a function-level import only postpones a cycle), but not
    under ``if TYPE_CHECKING`` (never executed)."""
    modules = {".".join(p.relative_to(SRC.parent).with_suffix("").parts)
               .removesuffix(".__init__"): p for p in SRC.rglob("*.py")}

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        deps: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                deps |= {t for a in node.names if (t := owner(a.name))}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if (t := owner(full if full in modules else node.module)):
                        deps.add(t)
        graph[module] = {d for d in deps if d.startswith("parcelguard.") and d != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                found.append(sorted([v, *component]))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_even_through_function_level_imports() -> None:
    assert _cycles(_module_graph()) == []
