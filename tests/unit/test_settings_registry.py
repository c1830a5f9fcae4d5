"""The settings tree is built from what the plugins register (Plugin.settings): a
package's section exists only if its plugin names it, under the same environment names
as before the sections moved into their packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from parcelguard.core.plugin import Plugin, plugins, settings_sections
from parcelguard.core.settings import Settings, SettingsError, load_settings, tree
from parcelguard.ledger.settings import IngestSettings
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.vault.settings import master_key_path
from parcelguard.web.settings import LoginSettings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("PARCELGUARD_")]:
        monkeypatch.delenv(name)


def _without(name: str) -> type[Settings]:
    return tree(settings_sections(p for p in plugins() if p.name != name).items())


def test_a_section_is_found_only_through_its_plugin(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    # an invalid value: refused where the monitor is registered, ignored where it is not
    monkeypatch.setenv("PARCELGUARD_MONITOR__BATCH_SIZE", "not a number")
    with pytest.raises(SettingsError, match=r"monitor\.batch_size: Input should be a valid "
                       "integer"):
        load_settings(home=tmp_path)

    bare = _without("monitor")
    assert "monitor" not in bare.model_fields
    assert "incidents" in bare.model_fields  # every other section is still there
    s = bare(home=tmp_path, monitor={"batch_size": 100})  # ignored like any unknown name
    assert "monitor" not in s.model_dump()
    with pytest.raises(LookupError, match="no plugin registers the settings section "
                       "MonitorSettings"):
        s.section(MonitorSettings)
    assert s.section(LoginSettings).account_failures == 5


def test_settings_is_the_tree_of_the_composition_roots_plugins(tmp_path: Path) -> None:
    s = Settings(home=tmp_path)
    assert type(s) is tree()
    assert isinstance(s, Settings)
    assert set(type(s).sections) == set(settings_sections())
    owners = {key: p.name for p in plugins() for key in p.settings}
    assert owners == {"vault": "vault", "ingest": "ledger", "waybill": "waybill",
                      "monitor": "monitor", "conduct": "conduct", "channel": "channel",
                      "incidents": "incidents", "audit": "audit", "ops": "ops",
                      "web": "web", "login": "web"}
    # core keeps what only it reads
    assert {"home", "database_url", "sql_echo", "api", "http", "outbox"} <= set(
        Settings.model_fields)


def test_environment_names_are_unchanged(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    for name, value in {"PARCELGUARD_HOME": str(tmp_path),
                        "PARCELGUARD_MONITOR__BATCH_SIZE": "100",
                        "PARCELGUARD_INGEST__BATCH_SIZE": "7",
                        "PARCELGUARD_LOGIN__ACCOUNT_FAILURES": "1000",
                        "PARCELGUARD_INCIDENTS__ACK_HOURS": "12",
                        "PARCELGUARD_CHANNEL__ATTACHMENT_TYPES": '["text/plain"]',
                        "PARCELGUARD_VAULT__MASTER_KEY_PATH": str(tmp_path / "k.key"),
                        "PARCELGUARD_OUTBOX__MAX_ATTEMPTS": "3"}.items():
        monkeypatch.setenv(name, value)
    s = load_settings()
    assert s.home == tmp_path
    assert s.section(MonitorSettings).batch_size == 100
    assert s.section(IngestSettings).batch_size == 7
    assert s.section(LoginSettings).account_failures == 1000
    assert s.model_dump()["incidents"]["ack_hours"] == 12
    assert s.model_dump()["channel"]["attachment_types"] == ["text/plain"]
    assert master_key_path(s) == tmp_path / "k.key"
    assert s.outbox.max_attempts == 3
    monkeypatch.delenv("PARCELGUARD_VAULT__MASTER_KEY_PATH")
    assert master_key_path(load_settings()) == tmp_path / "keys" / "master.key"


def test_a_section_registered_twice_is_refused() -> None:
    twice = (Plugin("a", settings={"monitor": "parcelguard.monitor.settings:MonitorSettings"}),
             Plugin("b", settings={"monitor": "parcelguard.ledger.settings:IngestSettings"}))
    with pytest.raises(ValueError, match="settings section 'monitor' registered twice"):
        settings_sections(twice)
    with pytest.raises(ValueError, match=r"settings section 'home' .* is a field of core's own"):
        tree([("home", "parcelguard.monitor.settings:MonitorSettings")])
    with pytest.raises(TypeError, match="is not a pydantic model"):
        tree([("x", "parcelguard.vault.settings:master_key_path")])
