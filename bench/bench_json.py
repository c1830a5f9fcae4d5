"""One JSON library or two: orjson against msgspec.json on parcelguard's own payloads,
CPU time, both sides in one run (issue 19).

    .venv/bin/python bench/bench_json.py [--events 100000] [--messages 20000]

Payloads: an ingest batch of simulated events (the dicts the simulator writes, the
bytes ingest reads) and the outbox messages of the registered message types (alerts,
canary touches, queued envelopes, police referrals, audit findings, all with their
datetimes). For each shape: encode, untyped decode, and the typed decode the code
does (the event contract, a message dataclass); "orjson" there is orjson.loads
followed by the conversion msgspec would otherwise do in one pass. The end-to-end
ingest decode (`ledger.decode.decode_batch`, msgspec only) gives the scale: what
share of an ingested event any JSON step is.

Prints microseconds per item and the ratio msgspec / orjson (below 1: msgspec is
faster) and writes bench/out/json.json. orjson is no longer a dependency; install it
next to parcelguard to re-run the comparison (the script says so and stops without).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from parcelguard.audit.events import AuditFindingRaised
from parcelguard.channel.events import CanaryTouched
from parcelguard.incidents.events import ProposePoliceReferral
from parcelguard.ledger.contract import Event
from parcelguard.ledger.decode import Rejected, decode_batch
from parcelguard.monitor.events import AlertRaised
from parcelguard.node.events import EnvelopeQueued
from parcelguard.simulation.model import WorldConfig
from parcelguard.simulation.world import build_world

OUT = Path(__file__).parent / "out"


def _best_cpu_us(fn: Callable[[], object], n: int, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best / n * 1e6


def _messages(n: int) -> list[Any]:
    t0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    out: list[Any] = []
    for i in range(n):
        at = t0 + timedelta(seconds=i, microseconds=i % 7)
        out.append((
            AlertRaised(alert_id=f"al-{i}", enterprise_id="ent-a", detector="volume",
                        subject_type="employee", subject_id=f"emp-{i % 97}",
                        severity="high", score=0.5 + i % 13 / 10, raised_at=at),
            CanaryTouched(enterprise_id="ent-b", canary_id=f"can-{i}",
                          waybill_no=f"SF{1000000 + i}", kind="access", at=at,
                          actor_type="employee", actor_id=f"emp-{i % 31}",
                          event_ids=(f"ev-{i}",),
                          exposed_to=tuple(f"emp-{j}" for j in range(i % 6))),
            EnvelopeQueued(message_id=f"m-{i}", sender_org="ent-a", recipient_org="reg",
                           kind="checkpoint", body=f'{{"n":{i},"root":"{i:064x}"}}',
                           created_at=at.isoformat()),
            ProposePoliceReferral(incident_id=f"inc-{i}", enterprise_id="ent-c",
                                  insider=bool(i % 2), especially_serious=False,
                                  ratio=1.04, basis="2,600 other records (threshold 2,500)",
                                  evidence_event_ids=tuple(f"ev-{i}-{k}" for k in range(8)),
                                  actor_ids=(f"emp-{i % 31}",), waybills=(f"SF{i}",),
                                  proposed_at=at, records={"whereabouts": 2600}),
            AuditFindingRaised(finding_id=f"f-{i}", engagement_id="eng-1",
                               enterprise_id="ent-a", control_id="AC-2", severity="major",
                               summary="access outside the assignment window", raised_at=at),
        )[i % 5])
    return out


def _from_dict(cls: type, doc: dict[str, Any]) -> Any:
    """What orjson needs after loads to give the dataclass msgspec decodes into:
    datetimes parsed, tuples rebuilt (msgspec.convert does both in C)."""
    return msgspec.convert(doc, cls)


def main() -> int:
    try:
        import orjson
    except ImportError:
        print("orjson is not installed (no longer a dependency); "
              "`pip install orjson` next to parcelguard to run this comparison")
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--messages", type=int, default=20_000)
    args = ap.parse_args()
    events = build_world(WorldConfig(seed=101, parcels=max(3_000, args.events // 8),
                                     days=3)).events[:args.events]
    msgs = _messages(args.messages)
    enc, enc_sorted = msgspec.json.Encoder(), msgspec.json.Encoder(order="sorted")
    dec, typed = msgspec.json.Decoder(), msgspec.json.Decoder(Event)
    o_dumps, o_loads, sort = orjson.dumps, orjson.loads, orjson.OPT_SORT_KEYS

    raw = [o_dumps(e) for e in events]
    # the two libraries give the same bytes for these shapes, sorted or not
    assert raw == [enc.encode(e) for e in events]
    assert [o_dumps(e, option=sort) for e in events] == \
        [enc_sorted.encode(e) for e in events]
    m_raw = [enc.encode(m) for m in msgs]
    m_decoders = {cls: msgspec.json.Decoder(cls) for cls in {type(m) for m in msgs}}
    # the same but for UTC datetimes: orjson writes +00:00, msgspec Z (both RFC 3339)
    o_raw = [o_dumps(m) for m in msgs]
    assert [m_decoders[type(m)].decode(r) for m, r in zip(msgs, o_raw, strict=True)] == msgs
    m_pairs = [(type(m), r) for m, r in zip(msgs, m_raw, strict=True)]
    assert [m_decoders[c].decode(r) for c, r in m_pairs] == msgs
    assert [_from_dict(c, o_loads(r)) for c, r in m_pairs] == msgs
    lines = list(enumerate(raw, start=1))

    n, k = len(events), len(msgs)
    cases: list[tuple[str, int, Callable[[], object], Callable[[], object]]] = [
        ("event encode (dict -> bytes)", n,
         lambda: [o_dumps(e) for e in events], lambda: [enc.encode(e) for e in events]),
        ("event encode, sorted keys", n,
         lambda: [o_dumps(e, option=sort) for e in events],
         lambda: [enc_sorted.encode(e) for e in events]),
        ("event decode (bytes -> dict)", n,
         lambda: [o_loads(r) for r in raw], lambda: [dec.decode(r) for r in raw]),
        ("event typed decode (contract)", n,
         lambda: [msgspec.convert(o_loads(r), Event) for r in raw],
         lambda: [typed.decode(r) for r in raw]),
        ("message encode (dataclass)", k,
         lambda: [o_dumps(m) for m in msgs], lambda: [enc.encode(m) for m in msgs]),
        ("message decode (bytes -> dict)", k,
         lambda: [o_loads(r) for r in m_raw], lambda: [dec.decode(r) for r in m_raw]),
        ("message typed decode", k,
         lambda: [_from_dict(c, o_loads(r)) for c, r in m_pairs],
         lambda: [m_decoders[c].decode(r) for c, r in m_pairs]),
        ("message as dict encode (asdict)", k,
         lambda: [o_dumps(asdict(m)) for m in msgs],
         lambda: [enc.encode(asdict(m)) for m in msgs]),
    ]
    rejected: list[Rejected] = []
    gc.disable()
    try:
        ingest_us = _best_cpu_us(lambda: decode_batch(lines, rejected), n)
        rows = []
        for name, count, o_fn, m_fn in cases:
            # interleaved: orjson, msgspec, orjson, msgspec; the best of each
            o_us = min(_best_cpu_us(o_fn, count, 3), _best_cpu_us(o_fn, count, 2))
            m_us = _best_cpu_us(m_fn, count, 3)
            m_us = min(m_us, _best_cpu_us(m_fn, count, 2))
            rows.append({"case": name, "items": count, "orjson_us": round(o_us, 3),
                         "msgspec_us": round(m_us, 3), "ratio": round(m_us / o_us, 3)})
    finally:
        gc.enable()
    assert not rejected, rejected[:3]
    by = {r["case"]: r for r in rows}
    # ingest reads each line once (typed decode) and writes its leaf once (sorted
    # encode); with orjson in their place the same work would cost this much more
    swap = (by["event typed decode (contract)"]["orjson_us"]
            - by["event typed decode (contract)"]["msgspec_us"]
            + by["event encode, sorted keys"]["orjson_us"]
            - by["event encode, sorted keys"]["msgspec_us"])
    result = {"events": n, "messages": k, "ingest_decode_batch_us": round(ingest_us, 3),
              "orjson_in_ingest_extra_us": round(swap, 3),
              "orjson_in_ingest_extra_share": round(swap / ingest_us, 3), "cases": rows,
              "versions": {"orjson": orjson.__version__, "msgspec": msgspec.__version__,
                           "python": sys.version.split()[0]}}
    OUT.mkdir(exist_ok=True)
    (OUT / "json.json").write_text(json.dumps(result, indent=2))
    print(f"{'case':34} {'orjson us':>10} {'msgspec us':>10} {'msgspec/orjson':>15}")
    for r in rows:
        print(f"{r['case']:34} {r['orjson_us']:10.3f} {r['msgspec_us']:10.3f} "
              f"{r['ratio']:15.3f}")
    print(f"ingest decode_batch (msgspec, as shipped): {ingest_us:.2f} us/event; "
          f"orjson for its decode and leaf encode: {swap:+.2f} us/event "
          f"({swap / ingest_us:+.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
