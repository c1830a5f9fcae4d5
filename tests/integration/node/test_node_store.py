"""A node's own store, on SQLite and on PostgreSQL: no PI tables and no master key
on a supervision node; a received envelope is stored and applied once however
often it arrives."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from parcelguard.cli import app
from parcelguard.core.runtime import Runtime
from parcelguard.node import service
from parcelguard.node.envelope import Envelope
from parcelguard.node.home import Node, node_settings
from parcelguard.node.store import pi_tables
from parcelguard.vault.settings import master_key_path

runner = CliRunner()
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def cli(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield ""
        return
    base = os.environ.get("PARCELGUARD_TEST_POSTGRES_URL", DEFAULT_PG)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"parcelguard_node_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _cert_der(node: Node) -> bytes:
    cert = x509.load_pem_x509_certificate(node.paths.tls_cert.read_bytes())
    return cert.public_bytes(serialization.Encoding.DER)


def test_a_supervision_store_holds_no_pi_and_applies_each_envelope_once(
        tmp_path: Path, db_url: str) -> None:
    ca, sup_home, e1_home = tmp_path / "ca", tmp_path / "sup", tmp_path / "e1"
    cli("node", "ca", "init", "--out", str(ca))
    cli("node", "init", "--home", str(sup_home), "--role", "supervision", "--org", "sup",
        "--url", "https://127.0.0.1:9", "--ca", str(ca), "--db", db_url)
    sup = Node(sup_home)
    cli("node", "init", "--home", str(e1_home), "--role", "enterprise", "--org", "e1",
        "--url", "https://127.0.0.1:10", "--ca", str(ca), "--supervision-key",
        json.loads(sup.paths.card.read_text())["node_key"],
        "--supervision-url", "https://127.0.0.1:9")
    cli("node", "directory", "add", "--home", str(sup_home), "--card",
        str(e1_home / "node-card.json"))
    e1 = Node(e1_home)
    (e1_home / "directory.json").write_bytes(sup.paths.directory.read_bytes())

    rt = Runtime(settings=node_settings(sup_home))
    try:
        tables = set(inspect(rt.db.engine).get_table_names())
        assert {"node_inbox", "organizations"} <= tables
        assert not set(pi_tables()) & tables
        assert {"parcels", "vault_subject_keys", "channel_reports"} <= set(pi_tables())
        assert not master_key_path(rt.settings).exists()

        report = Envelope(message_id="env_once", sender_org="e1", sender_key_id=e1.key_id,
                          recipient_org="sup", kind="incident_report",
                          body={"incident": "inc_1", "records": 3},
                          created_at="2026-12-07T02:00:00.000+00:00").sign(e1.signing_key)
        me = service.Me(org="sup", role="supervision", key_id=sup.key_id)
        directory = sup.directory()
        assert directory is not None
        for expected in (True, False, False):
            e = service.verify(report.to_json(), me=me, directory=directory,
                               peer_cert_der=_cert_der(e1))
            with rt.db.unit_of_work() as uow:
                assert service.receive(uow.session, e, me=me, directory=directory) is expected
                uow.commit()
        with rt.db.unit_of_work() as uow:
            assert service.counts(uow.session) == {
                "sent_pending": 0, "sent_dead": 0, "sent_delivered": 0, "received": 1,
                "duplicates_ignored": 2}
    finally:
        rt.close()

    # the enterprise applies an intervention once: one acknowledgement queued
    order = Envelope(message_id="env_order", sender_org="sup", sender_key_id=sup.key_id,
                     recipient_org="e1", kind="intervention", body={"ref": "inc_1"},
                     created_at="2026-12-07T02:01:00.000+00:00").sign(sup.signing_key)
    rt = Runtime(settings=node_settings(e1_home))  # no dispatcher: the ack stays queued
    try:
        me = service.Me(org="e1", role="enterprise", key_id=e1.key_id)
        directory = e1.directory()
        assert directory is not None
        for _ in range(2):
            e = service.verify(order.to_json(), me=me, directory=directory,
                               peer_cert_der=_cert_der(sup))
            with rt.db.unit_of_work() as uow:
                service.receive(uow.session, e, me=me, directory=directory)
                uow.commit()
        with rt.db.unit_of_work() as uow:
            queued = service.backlog(uow.session)
        assert [(q.recipient_org, q.kind) for q in queued] == [("sup", "intervention_ack")]
    finally:
        rt.close()
