"""The channel's section of the settings tree (``PARCELGUARD_CHANNEL__*``,
docs/channel.md).

Registered by ``channel/plugin.py`` (``Plugin.settings``); core/settings.py builds the tree."""

from __future__ import annotations

from pydantic import BaseModel, Field


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
