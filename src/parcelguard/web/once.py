"""An action's outcome carried across the redirect after a form post, shown once.

Post/redirect/get: the POST acts and answers 303, the GET shows the outcome, so a
reload or a language switch shows the page and never repeats the action. When the
outcome holds something the page must show once and must not leave readable on
the visitor's machine (a revealed phone number), it travels in a cookie encrypted
with AES-GCM under a key derived from the deployment's consumer-token key (in the
home, shared by every worker): HttpOnly, SameSite=Strict, one minute, bound to the
person it was made for (``audience``), and deleted by the first GET that reads it.
Never in the URL, never in a log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from base64 import urlsafe_b64decode, urlsafe_b64encode
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Request
from fastapi.responses import Response

from parcelguard.web.security import set_cookie
from parcelguard.web.settings import WebSettings

SECONDS = 60
_MAX = 3500  # a browser keeps cookies up to 4 KB


def _key(request: Request) -> bytes:
    base: bytes = request.app.state.consumer_proof.key
    return hmac.new(base, b"parcelguard outcome cookie v1", hashlib.sha256).digest()


def put(request: Request, response: Response, name: str, audience: str,
        data: dict[str, Any]) -> None:
    """Seal ``data`` for ``audience`` into the one-use cookie ``name``."""
    body = json.dumps({"a": audience, "x": int(time.time()) + SECONDS, "d": data},
                      ensure_ascii=True, default=str).encode()
    nonce = os.urandom(12)
    sealed = urlsafe_b64encode(nonce + AESGCM(_key(request)).encrypt(
        nonce, body, name.encode())).decode()
    if len(sealed) > _MAX:
        raise ValueError("outcome too large for a cookie")
    mode = request.app.state.runtime.settings.section(WebSettings).cookie_secure
    set_cookie(response, request, mode, name, sealed, max_age=SECONDS)


def take(request: Request, name: str, audience: str) -> dict[str, Any] | None:
    """The outcome sealed for ``audience``, or None (absent, expired, forged, someone
    else's). The caller deletes the cookie on its response (``drop``)."""
    raw = request.cookies.get(name)
    if not raw or len(raw) > _MAX or request.method != "GET":
        return None
    try:
        blob = urlsafe_b64decode(raw.encode())
        body = json.loads(AESGCM(_key(request)).decrypt(blob[:12], blob[12:], name.encode()))
    except (InvalidTag, ValueError, TypeError):
        return None
    if not isinstance(body, dict) or body.get("a") != audience \
            or int(body.get("x", 0)) < time.time() or not isinstance(body.get("d"), dict):
        return None
    data: dict[str, Any] = body["d"]
    return data


def drop(request: Request, response: Response, name: str) -> None:
    if name in request.cookies:
        response.delete_cookie(name, path="/")
