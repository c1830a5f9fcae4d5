"""What each role's node serves (docs/deployment.md):

- enterprise: the whole application (vault, access gate, ledger, channel intake,
  conduct, incidents, portals: ``app.create_app``) plus the federation routes;
- police: the same application (its referral evidence holds PI, in its own vault)
  plus the federation routes;
- supervision and auditor: the federation routes only, over a store without the
  vault's tables (node/store.py): they hold no personal information, so nothing
  that reads or writes PI is mounted and no master key exists.

Every node runs the outbox's dispatch loop, which carries its envelopes. An
enterprise node's application publishes its ledger as tlog-tiles
(``/tlog/<org>/...``); a supervision, police or auditor node also answers as a
C2SP tlog-witness (``/witness/add-checkpoint``) for the logs its directory lists
(node/federation.py).
"""

from __future__ import annotations

from fastapi import FastAPI

from parcelguard.core.runtime import Runtime
from parcelguard.node.home import Node
from parcelguard.node.router import router as node_router


def create_node_app(rt: Runtime, node: Node) -> FastAPI:
    if node.config.holds_pi:
        from parcelguard.app import create_app

        app = create_app(rt)
    else:
        app = _federation_only(rt)
    app.state.node = node
    app.include_router(node_router)
    cosigner = node.cosigner()
    if cosigner is not None:
        from parcelguard.node.federation import WITNESS_PREFIX, directory_logs
        from parcelguard.supervision.tlog_witness import witness_router

        app.include_router(witness_router(cosigner, logs=directory_logs(node, rt.clock),
                                          prefix=WITNESS_PREFIX))
    return app


def _federation_only(rt: Runtime) -> FastAPI:
    from parcelguard.core.outbox import dispatching
    from parcelguard.core.plugin import register_handlers

    app = FastAPI(title="parcelguard node", version="0.1.0", docs_url=None, redoc_url=None,
                  openapi_url=None, max_body_size=rt.settings.http.max_body_bytes,
                  lifespan=lambda _app: dispatching(
                      rt.db, poll_seconds=rt.settings.outbox.poll_seconds))
    app.state.runtime = rt
    register_handlers(rt)
    return app
