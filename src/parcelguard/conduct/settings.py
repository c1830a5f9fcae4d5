"""The conduct section of the settings tree: courier evaluations, rewards and
sanctions (``PARCELGUARD_CONDUCT__*``, docs/conduct.md).

Registered by ``conduct/plugin.py`` (``Plugin.settings``); core/settings.py builds the tree."""

from __future__ import annotations

from pydantic import BaseModel, Field


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
