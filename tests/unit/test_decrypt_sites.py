"""The gate is the only road to plaintext PI: every place in src/ that calls the
vault's decrypt (``VaultService.open``, ``Vault.decrypt``/``decrypt_many``) is listed
here with why it may, and a new one fails this test until it is reviewed and listed.

The scan reads the source (AST), so it needs no database and sees code no test runs.
A call counts when its receiver's expression names a vault (``vault.open``,
``self.vault.open``, ``request.app.state.vault.open``...): the project's one naming
convention for a ``VaultService``. Functions that hand plaintext back to their caller
are followed one step further: their callers are listed too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "parcelguard"
DECRYPT = {"open", "decrypt", "decrypt_many"}

# (module, enclosing function) -> why this decrypt is allowed.
ALLOWED: dict[tuple[str, str], str] = {
    ("access/trail.py", "GateBase.open"):
        "the gate itself: every reveal, search, export and share passes its purpose, "
        "assignment and approval checks and is recorded as an access event before this",
    ("access/waybills/labels.py", "print_parcel_label"):
        "label printing through the gate (AccessGate.print_label): the values are masked "
        "in the same function and only the masked form leaves it",
    ("access/waybills/virtual_numbers.py", "_recipient_phone"):
        "virtual-number resolution: the recipient's number goes to the telephony switch "
        "for the bound courier inside a live delivery assignment, never to a screen",
    ("access/subjects/requests.py", "fulfil_access"):
        "a data subject's copy of their own PI, shown only to that person in the "
        "consumer portal after the one-time code (see PLAINTEXT_RETURNERS)",
    ("incidents/notify.py", "LocalSmsNotifier._batch"):
        "the SMS notifier opens the phone number inside send() and keeps only the masked "
        "form (incident notices, consumers' one-time codes)",
    ("channel/repository.py", "open_fields"):
        "the reporting channel's own fields (report text, a named reporter's identity "
        "only with their consent), for the report's handlers and the reporter; not "
        "parcel PI. Still outside the gate's purpose/approval rules (open, issue 14)",
}

# Functions that return plaintext to their caller -> the callers allowed to have it.
PLAINTEXT_RETURNERS: dict[str, dict[tuple[str, str], str]] = {
    "fulfil_access": {
        ("web/portals/consumer.py", "rights_copy"):
            "the consumer portal, inside the person's verified session (one-time code)",
    },
    "open_fields": {
        ("channel/service.py", "get_report"): "the report's handlers at its enterprise",
        ("channel/service.py", "attachment"): "download by the report's handlers",
        ("channel/intake.py", "reporter_view"): "the reporter, after receipt + secret",
    },
}


def _calls(tree: ast.AST) -> Iterator[tuple[str, ast.Call]]:
    """Every call with the dotted name of the function or method enclosing it."""
    def walk(node: ast.AST, scope: list[str]) -> Iterator[tuple[str, ast.Call]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield from walk(child, [*scope, child.name])
                continue
            if isinstance(child, ast.Call):
                yield ".".join(scope) or "<module>", child
            yield from walk(child, scope)
    yield from walk(tree, [])


def _modules() -> Iterator[tuple[str, ast.AST]]:
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if not rel.startswith("vault/"):  # the vault's own internals define decrypt
            yield rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel)


def decrypt_sites() -> set[tuple[str, str]]:
    sites = set()
    for rel, tree in _modules():
        for scope, call in _calls(tree):
            f = call.func
            if isinstance(f, ast.Attribute) and f.attr in DECRYPT \
                    and "vault" in ast.unparse(f.value).lower():
                sites.add((rel, scope))
    return sites


def callers(name: str) -> set[tuple[str, str]]:
    found = set()
    for rel, tree in _modules():
        for scope, call in _calls(tree):
            f = call.func
            called = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if called == name:
                found.add((rel, scope))
    return found


def test_every_vault_decrypt_is_a_listed_site() -> None:
    sites = decrypt_sites()
    new = sorted(sites - ALLOWED.keys())
    assert new == [], ("vault decrypt outside the gate; route it through access/ or list "
                       f"it in ALLOWED with why: {new}")
    gone = sorted(ALLOWED.keys() - sites)
    assert gone == [], f"listed decrypt sites that no longer exist (remove them): {gone}"


def test_plaintext_goes_no_further_than_its_listed_callers() -> None:
    for name, allowed in PLAINTEXT_RETURNERS.items():
        found = callers(name)
        assert found == allowed.keys(), (name, sorted(found ^ allowed.keys()))


def test_the_scan_sees_a_new_decrypt() -> None:
    """The scanner itself: a staff route opening PI directly is found."""
    tree = ast.parse("def leak(session, request):\n"
                     "    return request.app.state.vault.open(session, 'ent', [])\n")
    assert [(scope, ast.unparse(c.func)) for scope, c in _calls(tree)] == [
        ("leak", "request.app.state.vault.open")]
