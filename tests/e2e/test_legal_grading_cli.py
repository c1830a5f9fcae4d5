"""Issue 16 item 3 (grading): an incident's grade follows more than the people
affected. A direct economic loss, a critical-information-infrastructure system's
outage, or a leak of important data with the threat it poses raises the grade (CAC
measures' annex) and owes the CAC report, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_incidents_cli import run


def _open(home: Path, *, cii: bool) -> str:
    assert run(home, "init").exit_code == 0
    flags = ["--cii"] if cii else []
    assert run(home, "org", "create", "ent-a", "--kind", "enterprise", "--name", "A",
               *flags).exit_code == 0
    r = run(home, "incidents", "open", "-e", "ent-a", "--title", "ransomware on the sorting "
            "system", "--category", "external_attack")
    assert r.exit_code == 0, r.output
    return next(w.rstrip(":") for w in r.output.split() if w.startswith("inc_"))


def _shown(home: Path, incident_id: str) -> dict:
    return json.loads(run(home, "incidents", "show", incident_id, "-e", "ent-a",
                          "--json").output)


def test_a_direct_loss_grades_the_incident_and_owes_the_cac_report(tmp_path: Path) -> None:
    home = tmp_path / "home"
    incident_id = _open(home, cii=False)
    assert _shown(home, incident_id)["grade"] == "general"  # no people affected
    r = run(home, "incidents", "grade-inputs", incident_id, "-e", "ent-a",
            "--direct-loss-rmb", "4999999")
    assert r.exit_code == 0, r.output
    assert _shown(home, incident_id)["grade"] == "general"  # just below 500万元
    r = run(home, "incidents", "grade-inputs", incident_id, "-e", "ent-a",
            "--direct-loss-rmb", "20000000")
    assert r.exit_code == 0, r.output
    assert "major (重大): direct economic loss 20,000,000 RMB" in r.output
    shown = _shown(home, incident_id)
    assert shown["grade"] == "major"
    cac = next(x for x in shown["reports"] if x["kind"] == "cac_initial")
    assert cac["content"]["grading_basis"] == [
        "major (重大): direct economic loss 20,000,000 RMB"]
    # a lower figure later never lowers the grade: a report once owed stays owed
    run(home, "incidents", "grade-inputs", incident_id, "-e", "ent-a",
        "--direct-loss-rmb", "10")
    assert _shown(home, incident_id)["grade"] == "major"


def test_outage_grades_a_cii_operator_only(tmp_path: Path) -> None:
    home = tmp_path / "cii"
    incident_id = _open(home, cii=True)
    r = run(home, "incidents", "grade-inputs", incident_id, "-e", "ent-a",
            "--outage-hours", "0.5")
    assert r.exit_code == 0, r.output
    assert _shown(home, incident_id)["grade"] == "relatively_major"
    run(home, "incidents", "grade-inputs", incident_id, "-e", "ent-a",
        "--main-outage-hours", "24")
    assert _shown(home, incident_id)["grade"] == "particularly_major"

    plain = tmp_path / "plain"
    other = _open(plain, cii=False)
    run(plain, "incidents", "grade-inputs", other, "-e", "ent-a", "--outage-hours", "10")
    assert _shown(plain, other)["grade"] == "general"


def test_important_data_is_graded_by_the_threat_recorded(tmp_path: Path) -> None:
    home = tmp_path / "home"
    incident_id = _open(home, cii=False)
    r = run(home, "incidents", "grade-inputs", incident_id, "-e", "ent-a",
            "--data-class", "important")
    assert r.exit_code == 2
    assert "the data class and the threat together" in r.output
    r = run(home, "incidents", "grade-inputs", incident_id, "-e", "ent-a",
            "--data-class", "important", "--data-threat", "serious")
    assert r.exit_code == 0, r.output
    assert _shown(home, incident_id)["grade"] == "major"
