"""Serving a node: HTTPS that admits only clients with a certificate from the
federation CA, and hands that certificate (DER) to the app in
``request.state.peer_cert``. uvicorn offers no ASGI TLS extension, so a one-method
subclass of its HTTP/1.1 protocol adds it per connection. (Kept apart from
transport.py, which every process's outbox imports (node/plugin.py).)"""

from __future__ import annotations

import ssl
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from parcelguard.node.home import Node
from parcelguard.node.transport import PEER_CERT


class PeerCertProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol that puts the client certificate (DER) in each
    request's state."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        self.app_state = {**self.app_state, PEER_CERT: der}


def serve_config(app: FastAPI, node: Node, *, host: str, port: int,
                 log_level: str = "info") -> uvicorn.Config:
    """HTTPS on ``host:port`` that admits only clients with a CA-signed certificate."""
    from parcelguard.web.serving import log_config

    return uvicorn.Config(app, host=host, port=port, log_level=log_level,
                          log_config=log_config(app), server_header=False, ws="none",
                          http=PeerCertProtocol, lifespan="on",
                          ssl_certfile=str(node.paths.tls_cert),
                          ssl_keyfile=str(node.paths.tls_key),
                          ssl_ca_certs=str(node.paths.ca_cert),
                          ssl_cert_reqs=ssl.CERT_REQUIRED)
