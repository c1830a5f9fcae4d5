"""Each API prefix is served by one package: someone looking for ``/api/v1/waybill``
finds all of it in one file's package (issue 19), whatever the layers behind it."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from fastapi import routing

from parcelguard.app import create_app
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ops.store import init_store


def test_every_api_prefix_comes_from_one_package(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    init_store(settings)
    rt = Runtime(settings=settings)
    try:
        app = create_app(rt)
    finally:
        rt.close()
    owners: dict[str, set[str]] = defaultdict(set)
    for ctx in routing.iter_route_contexts(app.routes):  # included routers, flattened
        endpoint = getattr(ctx.original_route, "endpoint", None)
        if ctx.path.startswith("/api/v1/") and endpoint is not None:
            owners[ctx.path.split("/")[3]].add(endpoint.__module__.split(".")[1])
    assert "waybill" in owners  # the table is the app's
    assert owners["events"] == {"ledger"}  # the events API with the ledger (issue 19)
    shared = {p: sorted(pkgs) for p, pkgs in owners.items() if len(pkgs) > 1}
    assert shared == {}
