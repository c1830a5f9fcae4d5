"""Issue 16 item 6 (the reporter's police request): a report filed with "send it to the
police" used to be stored and never acted on. It now owes a referral within the
configured hours, listed with its due time; once referred the police's acceptance
gives a receipt, shown on the request, through the real CLI."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from tests.e2e.test_channel_cli import home, run  # noqa: F401 - the fixture
from tests.integration.channel.channel_world import ENT, POLICE


def test_the_reporters_police_request_is_forwarded_with_a_deadline_and_receipt(
        home: tuple[Path, list[str]]) -> None:  # noqa: F811 - the fixture
    path, victims = home
    filed = run(path, "channel", "report", "-e", ENT, "--kind", "pi_leak", "--police",
                "--waybill", victims[0], stdin="我的快递信息被人卖了，请报警\n")
    assert filed.exit_code == 0, filed.output
    plain = run(path, "channel", "report", "-e", ENT, "--kind", "pi_leak",
                "--waybill", victims[1], stdin="快递信息泄露\n")
    assert plain.exit_code == 0, plain.output

    owed = json.loads(run(path, "channel", "police-requests", "-e", ENT).stdout)
    assert len(owed) == 1  # only the report that asked
    (req,) = owed
    hours = (datetime.fromisoformat(req["due_at"])
             - datetime.fromisoformat(req["received_at"])).total_seconds() / 3600
    assert hours == 24
    assert req["referral_id"] is None
    assert not req["overdue"]

    r = run(path, "channel", "refer", req["report_id"], "-e", ENT, "--reason",
            "the reporter asked for the police", "--police", POLICE)
    assert r.exit_code == 0, r.output
    referral_id = r.stdout.split()[1]
    r = run(path, "channel", "referral", "accept", referral_id, "--police", POLICE)
    assert r.exit_code == 0, r.output
    receipt = r.stdout.split("receipt ")[1].strip()
    assert receipt.startswith("POL-")

    (done,) = json.loads(run(path, "channel", "police-requests", "-e", ENT).stdout)
    assert done["referral_id"] == referral_id
    assert done["on_time"] is True
    assert done["police_org_id"] == POLICE
    assert done["police_receipt"] == receipt
