"""The web package's sections of the settings tree: the portals
(``PARCELGUARD_WEB__*``, docs/web.md) and staff log-in lock-out (``PARCELGUARD_LOGIN__*``,
docs/security.md).

Registered by ``web/plugin.py`` (``Plugin.settings``); core/settings.py builds the tree."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class WebSettings(BaseModel):
    """Server-rendered web portals."""

    default_locale: Literal["zh-CN", "en"] = Field(
        "zh-CN", description="Language of a page when neither ?lang=, the language cookie "
        "nor the browser's Accept-Language names a supported one.")
    cookie_secure: Literal["auto", "always", "never"] = Field(
        "auto", description="The Secure flag on portal cookies. auto: set unless the "
        "request is to localhost/127.0.0.1 over plain HTTP (so the local demo works); "
        "always: behind a TLS-terminating proxy.")
    session_hours: int = Field(
        8, ge=1, le=24, description="Lifetime of a staff portal session, in hours (one "
        "shift; shorter than API sessions because a browser may be left open).")
    totp_issuer: str = Field(
        "parcelguard", min_length=1, max_length=40,
        description="Issuer name shown by authenticator apps for staff TOTP secrets.")
    totp_drift_steps: int = Field(
        1, ge=0, le=2, description="30-second TOTP steps accepted either side of now "
        "(clock drift of phones); a code is accepted once only.")
    demo_parcels: int = Field(
        20_000, ge=1_000, description="Parcels in the world `serve --demo` builds when no "
        "demo database exists yet.")
    consumer_code_minutes: int = Field(
        10, ge=1, le=60, description="Lifetime of the one-time code a consumer receives by "
        "SMS to prove they are a party to a parcel (tracking details, PI rights).")
    consumer_attempts_per_waybill: int = Field(
        8, ge=1, description="Proof attempts (waybill + phone, or a code) on one waybill "
        "within the window before it is locked; the lock is an event in the carrier's log.")
    consumer_attempts_per_source: int = Field(
        30, ge=1, description="Proof attempts from one source (keyed hash of its address) "
        "within the window before the source is locked.")
    consumer_attempts_global: int = Field(
        2_000, ge=1, description="Proof attempts from everyone together within the window "
        "before the portal stops sending codes (caps SMS spend and distributed guessing).")
    consumer_window_minutes: int = Field(
        60, ge=1, description="Window in which consumer proof attempts are counted; a lock "
        "lasts as long.")


class LoginSettings(BaseModel):
    """Staff log-in (portal and API): lock-out with back-off per username and per
    source address. Unknown usernames are counted and locked like real ones."""

    account_failures: int = Field(
        5, ge=1, description="Failed log-ins (wrong password or code) for one username "
        "within the window that lock the username.")
    source_failures: int = Field(
        30, ge=1, description="Failed log-ins from one source address within the window "
        "that lock the source (higher than per username: offices share an address).")
    window_minutes: int = Field(
        15, ge=1, description="Window in which failed log-ins are counted.")
    lockout_seconds: int = Field(
        60, ge=1, description="First lock's length; each further lock of the same key "
        "doubles it (back-off), up to max_lockout_minutes.")
    max_lockout_minutes: int = Field(
        60, ge=1, description="Longest lock.")
