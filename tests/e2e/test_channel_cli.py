"""`parcelguard channel ...` as an operator runs it (in-process Typer runner on a real
SQLite file and the local key-file KMS): triangulate prints the ranked JSON with the
planted insider first; a report filed from the command line is followed with its
receipt and secret (prompted), and a wrong secret exits 1 revealing nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from parcelguard.cli import app
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ops.store import init_store
from parcelguard.vault.provider import vault_service
from tests.integration.channel.channel_world import ENT, INSIDER, make_world

runner = CliRunner()


def run(home: Path, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin,
                         env={"PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": ""})


@pytest.fixture
def home(tmp_path: Path) -> tuple[Path, list[str]]:
    home = tmp_path / "home"
    settings = Settings(home=home)
    rt = Runtime(settings=settings)
    init_store(rt.settings)
    with rt.db.unit_of_work() as uow:
        world = make_world(uow.session, parcels=60, vault=vault_service(settings))
        uow.commit()
    rt.close()
    return home, world.victims


def test_triangulate_prints_the_ranked_sources(home: tuple[Path, list[str]],
                                               tmp_path: Path) -> None:
    path, victims = home
    wfile = tmp_path / "leaked.txt"
    wfile.write_text("\n".join(victims) + "\n\n")
    r = run(path, "channel", "triangulate", "--waybills", str(wfile), "--enterprise", ENT)
    assert r.exit_code == 0, r.output
    ranked = json.loads(r.stdout)
    assert all(set(x) == {"subject_type", "subject_id", "score", "accessed", "expected"}
               for x in ranked)
    assert (ranked[0]["subject_type"], ranked[0]["subject_id"]) == ("employee", INSIDER)
    assert ranked[0]["accessed"] == len(victims)
    assert [x["score"] for x in ranked] == sorted((x["score"] for x in ranked), reverse=True)
    missing = run(path, "channel", "triangulate", "--waybills", str(tmp_path / "nope"),
                  "--enterprise", ENT)
    assert missing.exit_code == 2


def test_a_report_from_the_command_line_is_followed_with_its_secret(
        home: tuple[Path, list[str]]) -> None:
    path, victims = home
    filed = run(path, "channel", "report", "-e", ENT, "--kind", "scam_call", "--waybill",
                victims[0], stdin="对方知道我的快递单号和地址\n")
    assert filed.exit_code == 0, filed.output
    lines = filed.stdout.strip().splitlines()
    code = lines[0].split("receipt code: ")[1].split(";")[0]
    secret = lines[-1]
    ok = run(path, "channel", "follow", "-e", ENT, "--receipt", code, stdin=secret + "\n")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout[ok.stdout.index("{"):])["waybills"] == [victims[0]]
    bad = run(path, "channel", "follow", "-e", ENT, "--receipt", code, stdin="wrong\n")
    assert bad.exit_code == 1
    assert "wrong" in bad.output
    assert victims[0] not in bad.output
