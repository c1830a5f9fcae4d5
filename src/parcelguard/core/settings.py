"""The one settings tree. Every field documents itself; values come from the
environment with the ``PARCELGUARD_`` prefix (nested sections use ``__``, e.g.
``PARCELGUARD_INGEST__BATCH_SIZE``). Built once by the CLI or the app factory and
passed down, never read at import time."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from parcelguard.core.incident_settings import IncidentSettings
from parcelguard.core.monitor_settings import MonitorSettings


class IngestSettings(BaseModel):
    """Event ingest."""

    batch_size: int = Field(
        20_000,
        ge=1,
        le=500_000,
        description="Events stored per transaction. Larger batches are faster; a crash "
        "loses at most the uncommitted batch, which a re-run stores again.",
    )
    max_line_bytes: int = Field(
        64 * 1024, ge=1024, description="Longest accepted JSONL line; longer lines are rejected."
    )


class ApiSettings(BaseModel):
    """HTTP API."""

    max_batch_events: int = Field(
        50_000, ge=1, description="Most events accepted by one POST /api/v1/events call."
    )
    max_batch_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest POST /api/v1/events body, refused "
        "(413) before it is read in full or parsed. Each event in it is also held to "
        "ingest.max_line_bytes, like a line of `parcelguard ingest`."
    )
    session_hours: int = Field(12, ge=1, description="Lifetime of a login session, in hours.")


class VaultSettings(BaseModel):
    """PI vault."""

    master_key_path: Path | None = Field(
        None,
        description="Local KMS master key file (created 0600 on first run; parcelguard "
        "refuses to start if its permissions are looser). Default: home/keys/master.key.",
    )


# -- waybill: privacy labels and virtual numbers --
class WaybillSettings(BaseModel):
    """Privacy waybill labels and virtual numbers."""

    binding_grace_days: int = Field(
        15,
        ge=0,
        le=90,
        description="Days a virtual-number binding stays live after delivery, so the "
        "recipient can still reach the courier about the parcel (common practice: 15 "
        "days after the trade); then the number is unbound and reused.",
    )
    binding_mode: Literal["axn_ext", "axb"] = Field(
        "axn_ext",
        description="How a courier is bound to a recipient when no label was printed "
        "yet: axn_ext (a host number plus a 4-digit extension; one number serves 10,000 "
        "parcels) or axb (a number bound to the courier-recipient pair).",
    )
    telephony: Literal["local"] = Field(
        "local",
        description="Telephony provider for virtual numbers. local: the built-in "
        "simulator (records calls in memory, places no real calls).",
    )
    label_font_path: Path | None = Field(
        None,
        description="TrueType CJK font embedded in printed labels (.ttf/.ttc). Default: "
        "WenQuanYi Micro Hei vendored with parcelguard (hash-pinned), else a system "
        "font; CFF-based .otf fonts cannot be embedded.",
    )


# -- end waybill --




# -- channel: reporting & complaint channel, police referral, canaries (docs/channel.md) --
class ChannelSettings(BaseModel):
    """The public reporting and complaint channel, police referrals, triangulation and
    canary parcels."""

    ack_hours: int = Field(
        24, ge=1, le=720, description="Hours within which the enterprise must acknowledge "
        "a report (its service-level agreement).")
    answer_days: int = Field(
        30, ge=1, le=30, description="Days within which a report must be answered. The "
        "Postal Law allows at most 30 days for complaints, so this may only be shorter.")
    police_request_hours: float = Field(  # legal
        24, gt=0, le=720, description="Hours within which a report whose reporter asked for "
        "the case to go to the police must be referred to them. No law names a figure; "
        "24 h is parcelguard's default, the same reading of \"immediately\" as "
        "incidents.immediate_notice_hours.")
    max_text_chars: int = Field(
        5_000, ge=100, le=50_000, description="Longest report or message text, in characters.")
    max_attachment_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, le=20 * 1024 * 1024,
        description="Largest attachment, in bytes (after base64 decoding).")
    max_attachments: int = Field(
        5, ge=0, le=20, description="Most attachments per report (follow-ups included).")
    attachment_types: list[str] = Field(
        default_factory=lambda: ["image/png", "image/jpeg", "application/pdf", "text/plain"],
        description="Accepted attachment types, recognised by their magic bytes (the "
        "declared type must agree). Attachments are stored encrypted and only ever "
        "downloaded, never rendered inline or executed.")
    reports_per_source_per_hour: int = Field(
        5, ge=1, description="Reports accepted per hour from one source (keyed hash of the "
        "IP address). At least 1, so a first report from a new source is never refused.")
    secret_failures_per_receipt: int = Field(
        5, ge=1, description="Wrong secrets for one receipt code within the throttle window "
        "before that receipt is locked (also for receipt codes that do not exist, so the "
        "lock reveals nothing).")
    secret_failures_per_source: int = Field(
        20, ge=1, description="Wrong receipt/secret pairs from one source within the window "
        "before the source is locked.")
    throttle_window_minutes: int = Field(
        15, ge=1, description="Window in which wrong secrets are counted.")
    lockout_minutes: int = Field(
        15, ge=1, description="How long a locked receipt or source is refused (even with "
        "the right secret, so the lock is no oracle).")
    cluster_min_reports: int = Field(
        3, ge=2, description="Reports quoting the same scam caller that make a cluster worth "
        "triangulating.")
    evidence_max_events: int = Field(
        1_000, ge=10, le=100_000, description="Most events (each with its inclusion proof) "
        "in one evidence package; counts are measured over all of them regardless.")
    suspect_min_confidence: float = Field(
        0.99, gt=0, lt=1, description="Triangulation confidence from which a subject is named "
        "as a suspect in an evidence package.")
    police_org_id: str | None = Field(
        None, description="Police network-security department that referrals go to when "
        "none is named. Default: the only police organisation registered.")
# -- end channel --


# -- conduct: courier evaluations, rewards and sanctions (docs/conduct.md) --
class ConductSettings(BaseModel):
    """Courier evaluations by recipients and the rules that turn them into rewards,
    warnings, suspensions and police referrals."""

    link_days: int = Field(
        14, ge=1, le=90, description="Days an evaluation link stays valid after delivery.")
    window_days: int = Field(
        30, ge=1, le=365, description="Rolling evaluation window per employee, in days.")
    low_rating: int = Field(
        2, ge=1, le=4, description="Ratings at or below this are low.")
    reward_min_evaluations: int = Field(
        10, ge=1, description="Evaluations in the window needed before a reward.")
    reward_min_mean: float = Field(
        4.6, ge=1, le=5, description="Reward: mean rating at least this, no privacy tag and no "
        "leak signal in the window.")
    warning_max_mean: float = Field(
        3.0, ge=1, le=5, description="Warning: mean rating below this (with "
        "warning_min_evaluations), or any privacy tag.")
    warning_min_evaluations: int = Field(
        5, ge=1, description="Evaluations needed before a low mean alone warns.")
    training_privacy_tags: int = Field(
        1, ge=1, description="Privacy tags in the window that add privacy training to a "
        "warning.")
    suspension_privacy_tags: int = Field(
        3, ge=1, description="Privacy tags in the window that suspend the employee's PI "
        "access until reviewed.")
    referral_low_ratings: int = Field(
        3, ge=1, description="Low ratings in the window which, together with a sign of "
        "leakage (a privacy tag or a monitor alert), refer the employee to the police.")
# -- end conduct --


# -- web: portals (docs/web.md) --
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
# -- end web --


# -- auth: staff log-in lock-out, HTTP hygiene (docs/security.md) --
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


class HttpSettings(BaseModel):
    """What the HTTP server trusts and accepts."""

    forwarded_allow_ips: list[str] = Field(
        default_factory=list, description="Addresses (or CIDR ranges) of reverse proxies "
        "whose X-Forwarded-For / X-Forwarded-Proto headers are trusted. Empty: none, the "
        "client address is the TCP peer (a client cannot choose its own throttling key).")
    max_body_bytes: int = Field(
        48 * 1024 * 1024, ge=64 * 1024, description="Largest request body, refused (413) "
        "from its Content-Length or as soon as the streamed body passes it, before "
        "anything parses it. The default fits a channel report with five 5 MiB "
        "attachments (base64) and a large events batch.")
# -- end auth --


# -- audit: engagements, scorecards, transparency reports (docs/audit.md) --
class AuditSettings(BaseModel):
    """Third-party audits and the public transparency reports."""

    grant_days: int = Field(
        30, ge=1, le=365, description="Days an auditor's read-only access to an enterprise's "
        "aggregates and event samples lasts once fieldwork starts; it also ends when the "
        "report is delivered.")
    rectify_days: int = Field(
        30, ge=1, le=365, description="Days an enterprise has to answer a rectification "
        "order raised by an audit finding.")
    sample_size: int = Field(
        50, ge=1, description="Events drawn per sample request when none is given.")
    max_sample_size: int = Field(
        1_000, ge=1, le=100_000, description="Most events one sample request may draw (each "
        "comes with its inclusion proof).")
    dp_epsilon_per_report: float = Field(
        1.0, gt=0, le=10, description="Differential-privacy epsilon one transparency report "
        "spends (all its counts together; stated on the report).")
    dp_budget_per_period: float = Field(
        3.0, gt=0, le=100, description="Total epsilon an enterprise's transparency reports "
        "for one period may spend; publishing beyond it is refused.")
    rulebook_path: Path | None = Field(
        None, description="A rulebook file to use instead of the one shipped with "
        "parcelguard (same format, audit/rulebook/controls-v1.json).")

    @model_validator(mode="after")
    def _consistent(self) -> AuditSettings:
        if self.sample_size > self.max_sample_size:
            raise ValueError("sample_size must not exceed max_sample_size")
        if self.dp_epsilon_per_report > self.dp_budget_per_period:
            raise ValueError("one report's epsilon must fit in the period's budget")
        return self
# -- end audit --


# -- outbox --
class OutboxSettings(BaseModel):
    """Delivery of domain events to their reactions (core/outbox.py)."""

    max_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts of one handler on one message before "
        "it is dead-lettered with its reason (`parcelguard events retry` requeues it).")
    backoff_seconds: float = Field(
        default=2.0, gt=0, description="Wait before the first retry; doubles each attempt.")
    backoff_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest wait between two attempts.")
    poll_seconds: float = Field(
        default=2.0, gt=0, description="How often `events dispatch --follow` and the serve "
        "process look for due messages (a commit dispatches its own at once).")
# -- end outbox --
# -- ops: health checks (docs/operations.md) --
class OpsSettings(BaseModel):
    """Operating a node: what GET /api/v1/health demands."""

    min_free_disk_mb: int = Field(
        512, ge=0, description="Health fails below this much free space (MiB) on the "
        "filesystem of the home: writes would start failing soon.")
    max_checkpoint_age_hours: float = Field(
        26, gt=0, description="Health fails when a log holds entries not covered by a signed "
        "checkpoint this recent (a daily checkpoint, with slack).")
    max_outbox_lag_minutes: float = Field(
        15, gt=0, description="Health fails when a domain event has waited this long for its "
        "reactions (no dispatcher running, or a handler failing), or any is dead-lettered.")
# -- end ops --


class Settings(BaseSettings):
    """parcelguard configuration."""

    model_config = SettingsConfigDict(
        env_prefix="PARCELGUARD_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Field(
        Path(".parcelguard"),
        description="Directory for the embedded database, key files and outputs.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL. Empty means a SQLite file `parcelguard.db` under home "
        "(WAL mode). PostgreSQL: postgresql+psycopg://user@host:5432/db.",
    )
    sql_echo: bool = Field(
        False, description="Log every SQL statement (debugging only: statements carry ids).")
    node_role: str = Field(
        "", description="The federation role of the node this store belongs to (enterprise, "
        "supervision, police, auditor; set from its node.json by `node serve`); empty for a "
        "single-process store, which plays every party.")
    ingest: IngestSettings = Field(default_factory=IngestSettings)  # type: ignore[arg-type]
    api: ApiSettings = Field(default_factory=ApiSettings)  # type: ignore[arg-type]
    vault: VaultSettings = Field(default_factory=VaultSettings)  # type: ignore[arg-type]
    waybill: WaybillSettings = Field(default_factory=WaybillSettings)  # type: ignore[arg-type]
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    # -- channel, conduct --
    channel: ChannelSettings = Field(default_factory=ChannelSettings)  # type: ignore[arg-type]
    conduct: ConductSettings = Field(default_factory=ConductSettings)  # type: ignore[arg-type]
    # -- end channel, conduct --
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)  # incidents
    audit: AuditSettings = Field(  # audit
        default_factory=AuditSettings)  # type: ignore[arg-type]
    web: WebSettings = Field(default_factory=WebSettings)  # type: ignore[arg-type]  # web
    login: LoginSettings = Field(default_factory=LoginSettings)  # type: ignore[arg-type]  # auth
    http: HttpSettings = Field(default_factory=HttpSettings)  # type: ignore[arg-type]  # auth
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)  # type: ignore[arg-type]  # ops

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.home / 'parcelguard.db').resolve()}"
        return self

    @property
    def master_key_path(self) -> Path:
        return self.vault.master_key_path or self.home / "keys" / "master.key"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class SettingsError(ValueError):
    """The environment's settings are invalid; the message says which and why."""


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides on top. Invalid
    settings raise ``SettingsError`` naming each problem (never a traceback); statutory
    figures set away from the law are logged as a warning every time they load."""
    from pydantic import ValidationError

    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in exc.errors(include_url=False))
        raise SettingsError(f"invalid settings: {problems}") from None
    for note in settings.incidents.override_notes():
        logging.getLogger("parcelguard.settings").warning("statutory figure overridden: %s",
                                                          note)
    return settings
