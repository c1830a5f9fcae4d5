"""The retention sweep against its floor: crypto-shredding the same people one by
one with the vault alone, on identical SQLite stores built in the same run.

    .venv/bin/python bench/bench_retention.py [--people 5000] [--batch 500]

Each store holds ``--people`` senders with one delivered parcel each, collected 400
days ago (past the default notice's 365 days), to one recipient kept by a recent
parcel. The baseline calls ``VaultService.erase_subject`` for every sender in one
transaction; the sweep also finds who is due, checks each person's parcels are not
being carried, clears blind indexes and logs one delete event per batch. The ratio
(sweep / baseline) is the sweep's overhead over the shred itself. Writes
bench/out/retention.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from parcelguard.access.subjects import retention
from parcelguard.core.clock import ManualClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity.service import create_organization
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.ops.store import init_store
from parcelguard.vault.provider import vault_service

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)


def _store(home: Path, people: int) -> Runtime:
    settings = Settings(home=home)
    init_store(settings)
    rt = Runtime(settings=settings)
    old = NOW - timedelta(days=400)
    kept = PartyIn("sub-kept", "李四", "13900001111", "北京市海淀区中关村大街1号3单元402")
    parcels = [ParcelIn(make_waybill_no("SF", i), PartyIn(
        f"sub-{i}", "张三", "13812345678", "上海市浦东新区张江路88弄5号楼1203室"), kept, old)
        for i in range(people)]
    parcels.append(ParcelIn(make_waybill_no("SF", people), kept, kept, NOW))
    with rt.db.unit_of_work() as uow:
        create_organization(uow.session, org_id="ent-a", kind="enterprise", name="A",
                            clock=ManualClock(NOW))
        register_parcels(uow.session, vault_service(settings), enterprise_id="ent-a",
                         parcels=parcels, record_created=False)
        record_events(uow.session, [{
            "event_id": f"ev-{i}", "kind": "parcel", "enterprise_id": "ent-a",
            "occurred_at": (p.created_at + timedelta(days=1)).isoformat(),
            "waybill_no": p.waybill_no, "step": "delivered"} for i, p in enumerate(parcels)],
            clock_now=lambda: NOW)
        uow.commit()
    return rt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base_rt, sweep_rt = _store(Path(tmp) / "a", args.people), _store(Path(tmp) / "b",
                                                                         args.people)
        vault = vault_service(base_rt.settings)
        t = time.perf_counter()
        with base_rt.db.unit_of_work() as uow:
            for i in range(args.people):
                vault.erase_subject(uow.session, "ent-a", f"sub-{i}", reason="bench", at=NOW)
            uow.commit()
        baseline = time.perf_counter() - t
        vault = vault_service(sweep_rt.settings)
        t = time.perf_counter()
        with sweep_rt.db.unit_of_work() as uow:
            res = retention.sweep(uow.session, vault, enterprise_id="ent-a", now=NOW,
                                  batch=args.batch)
            uow.commit()
        swept = time.perf_counter() - t
        assert res.shredded == args.people, res
        base_rt.close()
        sweep_rt.close()
    figures = {"people": args.people, "batch": args.batch,
               "baseline_people_per_s": round(args.people / baseline),
               "sweep_people_per_s": round(args.people / swept),
               "sweep_over_baseline": round(swept / baseline, 2)}
    print(json.dumps(figures, indent=2))
    out = Path(__file__).with_name("out")
    out.mkdir(exist_ok=True)
    (out / "retention.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
