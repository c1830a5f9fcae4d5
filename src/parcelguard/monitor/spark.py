"""The Spark runner: the same two keyed stages on Structured Streaming.

    parcelguard monitor spark --events DIR --alerts-out DIR   (the `spark` extra)

DIR is a directory of JSONL event files, or a supervision node's national store
(``<node home>/national``: the mirrored entries as Parquet partitions by enterprise
and day, monitor/national.py).

1. Stage 1 streams the event files (JSONL, one file per micro-batch, in name order)
   grouped by (enterprise, waybill) through ``applyInPandasWithState`` with
   ``WaybillIndex`` as the per-key state, and writes every event, annotated and keyed
   for stage 2 (actor or employee; logins also by source), to a Parquet stream.
2. Stage 2 streams that output grouped by (enterprise, subject) through
   ``SubjectEngine`` with the subject's ``SubjectState`` as Spark state, and writes
   the detectors' updates.

The peer baselines (``PeerBook``) are the one cross-subject input; a batch job over
the same files builds them per enterprise with the same code and hands them to
stage 2 as a broadcast side input (at national scale: a daily job, since a day's
baseline only ever uses the previous day). The updates are folded into alerts by
``AlertBook``, in event order, exactly as the embedded runner folds them.

Files must be in time order across names (e.g. one per hour or day), as the
embedded runner's replay of the same directory assumes. Spark's file source has no
line numbers, so events of the same instant are ordered by ``event_id`` here and by
file position in the embedded runner: the same order for feeds that number their
events in stream order (the simulator does), else give them sub-second times.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import msgspec

from parcelguard.monitor.alerts import AlertBook
from parcelguard.monitor.detectors.volume import (
    PeerBook,
    book_decoder,
    book_encoder,
    build_peer_book,
)
from parcelguard.monitor.engine import SOURCE_PREFIX, SubjectEngine, actor_key, source_key
from parcelguard.monitor.model import AlertUpdate, Annot, decoder, epoch_us
from parcelguard.monitor.national import SPARK_SCHEMA, is_national
from parcelguard.monitor.replay import write_alerts
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.monitor.state import state_decoder, state_encoder
from parcelguard.monitor.waybills import WaybillIndex, needs_annotation
from parcelguard.monitor.waybills import state_decoder as wb_decoder
from parcelguard.monitor.waybills import state_encoder as wb_encoder

STAGE1_SCHEMA = ("ent string, key2 string, t_us long, file string, pos string, line string, "
                 "annotated boolean, covered boolean, station_match string, reprints int")
UPDATE_SCHEMA = ("ent string, t_us long, file string, pos string, k int, update string")
STATE_SCHEMA = "data binary"
_NO_WAYBILL = "~"  # stage-1 key of events that need no waybill state


def _session(app: str, master: str | None = None) -> Any:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    master = master or os.environ.get("PARCELGUARD_SPARK_MASTER", "local[2]")
    return (SparkSession.builder.master(master)
            .appName(app)
            .config("spark.sql.shuffle.partitions", os.environ.get(
                "PARCELGUARD_SPARK_PARTITIONS", "2"))
            .config("spark.ui.enabled", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .getOrCreate())


def _rows(pdfs: Iterator[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for pdf in pdfs:
        out.extend(pdf.to_dict("records"))
    out.sort(key=lambda r: (r["t_us"], r["file"], r["pos"]))
    return out


def stage1(settings: MonitorSettings, key: tuple[str, str], pdfs: Iterator[Any],
           state: Any) -> Iterator[Any]:
    """Stage 1 for one (enterprise, waybill) group of a micro-batch. Top-level (and
    bound with functools.partial) so Spark pickles it by reference."""
    import pandas as pd

    ent, wb = key
    index = WaybillIndex(settings.assignment_lookback_hours)
    if wb != _NO_WAYBILL and state.exists:
        index.states[ent] = {wb: wb_decoder.decode(bytes(state.get[0]))}
    out = []
    for r in _rows(pdfs):
        ev = decoder.decode(r["line"])
        t = r["t_us"]
        annot: Annot | None = None
        if ev.kind == "parcel":
            index.observe_parcel(ev, t)
            continue
        if ev.kind == "access" and needs_annotation(ev):
            annot = index.annotate(ev, t)
        for key2 in (actor_key(ev), source_key(ev)):
            if key2 is None:
                continue
            out.append({"ent": ent, "key2": key2, "t_us": t, "file": r["file"],
                        "pos": r["pos"], "line": r["line"],
                        "annotated": annot is not None,
                        "covered": bool(annot.covered) if annot else False,
                        "station_match": None if annot is None or annot.station_match
                        is None else str(annot.station_match),
                        "reprints": annot.reprints if annot else 0})
    if wb != _NO_WAYBILL:
        st = index.states.get(ent, {}).get(wb)
        if st is not None:
            state.update((wb_encoder.encode(st),))
    yield pd.DataFrame(out, columns=[c.split()[0] for c in STAGE1_SCHEMA.split(", ")])


def stage2(settings: MonitorSettings, book_bytes: Any, key: tuple[str, str],
           pdfs: Iterator[Any], state: Any) -> Iterator[Any]:
    """Stage 2 for one (enterprise, subject) group of a micro-batch."""
    import pandas as pd

    ent, subject = key
    engine = SubjectEngine(settings, book=book_decoder.decode(book_bytes.value))
    if state.exists:
        engine.subjects[ent] = {subject: state_decoder.decode(bytes(state.get[0]))}
    out = []
    for r in _rows(pdfs):
        ev = decoder.decode(r["line"])
        t = r["t_us"]
        if ev.kind == "employee":
            engine.on_employee(ev, t)
        elif subject.startswith(SOURCE_PREFIX):
            engine.source_access(ev, t, subject)
        else:
            sm = r["station_match"]
            annot = Annot(bool(r["covered"]), None if sm is None else sm == "True",
                          int(r["reprints"])) if r["annotated"] else None
            engine.actor_access(ev, t, annot)
        for k, u in enumerate(engine.drain()):
            out.append({"ent": ent, "t_us": t, "file": r["file"], "pos": r["pos"],
                        "k": k, "update": msgspec.json.encode(u).decode()})
    st = engine.subjects.get(ent, {}).get(subject)
    if st is not None:
        state.update((state_encoder.encode(st),))
    yield pd.DataFrame(out, columns=["ent", "t_us", "file", "pos", "k", "update"])


def book_part(settings: MonitorSettings, pdf: Any) -> Any:
    """One enterprise's share of the peer book (a batch ``applyInPandas`` group)."""
    import pandas as pd

    rows = pdf.sort_values(["t_us", "file", "pos"]).to_dict("records")
    events = [decoder.decode(r["line"]) for r in rows]
    book = build_peer_book(events, [r["t_us"] for r in rows], settings)
    return pd.DataFrame([{"book": book_encoder.encode(book)}])


def _peer_book(spark: Any, events_dir: Path, settings: MonitorSettings) -> PeerBook:
    """Per enterprise, in parallel: the same book the embedded runner keeps."""
    df = _lines(spark, events_dir, stream=False)
    parts = (df.groupBy("ent").applyInPandas(partial(book_part, settings), schema="book binary")
             .collect())
    book = PeerBook(offset_us=settings.day_offset_hours * 3_600_000_000)
    for row in parts:
        book.days.update(book_decoder.decode(bytes(row["book"])).days)
    return book


def _lines(spark: Any, events_dir: Path, *, stream: bool) -> Any:
    if is_national(events_dir):
        return _national_lines(spark, events_dir, stream=stream)
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql.types import LongType

    parse_t = F.udf(epoch_us, LongType())
    reader = (spark.readStream.option("maxFilesPerTrigger", 1) if stream else spark.read)
    df = reader.format("text").load(str(events_dir))
    df = df.where(F.length(F.trim("value")) > 0)
    return (df.select(
        F.col("value").alias("line"),
        F.get_json_object("value", "$.enterprise_id").alias("ent"),
        F.get_json_object("value", "$.waybill_no").alias("wb"),
        F.get_json_object("value", "$.kind").alias("kind"),
        parse_t(F.get_json_object("value", "$.occurred_at")).alias("t_us"),
        F.input_file_name().alias("file"),
        # the file source has no line numbers (and monotonically_increasing_id is
        # refused in streaming): events of one instant are ordered by event_id
        F.get_json_object("value", "$.event_id").alias("pos")))


def _national_lines(spark: Any, root: Path, *, stream: bool) -> Any:
    """The supervision node's Parquet partitions (monitor/national.py): the entry
    is the event; its time was read at export (no Python UDF per row); events of one
    instant are ordered by enterprise, then log position, as the embedded runner
    reading the same partitions orders them. Every file present is one micro-batch
    (events are time-ordered within a batch, whatever order the files were written
    in); partitions added later are the next run's batch."""
    from pyspark.sql import functions as F  # noqa: N812

    reader = spark.readStream if stream else spark.read
    df = reader.schema(SPARK_SCHEMA).parquet(str(root))
    entry = F.col("entry")
    return df.select(
        entry.alias("line"),
        F.get_json_object(entry, "$.enterprise_id").alias("ent"),
        F.get_json_object(entry, "$.waybill_no").alias("wb"),
        F.get_json_object(entry, "$.kind").alias("kind"),
        F.col("t_us"),
        F.col("enterprise").alias("file"),
        F.format_string("%012d", F.col("seq")).alias("pos"))


def run_spark(events_dir: Path, out_dir: Path, settings: MonitorSettings, *,
              master: str | None = None) -> int:
    """Run both stages to completion over the directory (availableNow) and write
    ``alerts.jsonl`` into ``out_dir``; returns the number of alerts."""
    with warnings.catch_warnings():
        # PySpark reads type hints to pick a UDF flavour and warns on functools.partial;
        # the flavour is given explicitly by the API used
        warnings.filterwarnings("ignore", message="Cannot infer the eval type",
                                category=UserWarning)
        return _run_spark(events_dir, out_dir, settings, master)


def _run_spark(events_dir: Path, out_dir: Path, settings: MonitorSettings,
               master: str | None) -> int:
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql.streaming.state import GroupStateTimeout

    spark = _session("parcelguard-monitor", master)
    out_dir.mkdir(parents=True, exist_ok=True)
    stage1_dir, updates_dir = out_dir / "_stage1", out_dir / "_updates"
    checkpoints = out_dir / "_checkpoints"
    book = _peer_book(spark, events_dir, settings)
    book_bytes = spark.sparkContext.broadcast(book_encoder.encode(book))

    lines = _lines(spark, events_dir, stream=True)
    keyed = lines.withColumn(
        "k1", F.when((F.col("kind") == "employee") | F.col("wb").isNull(), F.lit(_NO_WAYBILL))
        .otherwise(F.col("wb")))
    q1 = (keyed.groupBy("ent", "k1")
          .applyInPandasWithState(partial(stage1, settings), STAGE1_SCHEMA, STATE_SCHEMA, "append",
                                  GroupStateTimeout.NoTimeout)
          .writeStream.format("parquet").option("path", str(stage1_dir))
          .option("checkpointLocation", str(checkpoints / "stage1"))
          .trigger(availableNow=True).start())
    q1.awaitTermination()
    annotated = spark.readStream.schema(STAGE1_SCHEMA).parquet(str(stage1_dir))
    q2 = (annotated.groupBy("ent", "key2")
          .applyInPandasWithState(partial(stage2, settings, book_bytes), UPDATE_SCHEMA,
                                  STATE_SCHEMA, "append", GroupStateTimeout.NoTimeout)
          .writeStream.format("parquet").option("path", str(updates_dir))
          .option("checkpointLocation", str(checkpoints / "stage2"))
          .trigger(availableNow=True).start())
    q2.awaitTermination()
    rows = spark.read.schema(UPDATE_SCHEMA).parquet(str(updates_dir)).collect()
    rows.sort(key=lambda r: (r["t_us"], r["file"], r["pos"], r["k"]))
    fold = AlertBook(settings.evidence_cap)
    fold.apply(msgspec.json.decode(r["update"], type=AlertUpdate) for r in rows)
    alerts = fold.sorted()
    write_alerts(alerts, out_dir / "alerts.jsonl", settings.day_offset_hours)
    return len(alerts)
