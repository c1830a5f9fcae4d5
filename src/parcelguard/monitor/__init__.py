"""The supervision department's real-time monitor.

It reads the event stream alone (contracts/event.schema.json): assignments come from
``parcel`` events with step ``assigned``, the roster from ``employee`` events. Two
keyed stages run the same pure code in every runner:

1. ``waybills.WaybillIndex``, keyed by (enterprise, waybill): remembers each parcel's
   assignments, stations and label prints and annotates every waybill access with
   whether an assignment covers it, whether the parcel ever passed the actor's
   station, and how often the actor already printed it.
2. ``engine.SubjectEngine``, keyed by subject (an actor, an employee, or a login
   source): the detectors in ``detectors/``, each a documented rule with parameters
   in ``MonitorSettings`` and the events that triggered it as evidence.

Detectors emit ``AlertUpdate`` records; ``alerts.AlertBook`` folds them into one open
alert per (enterprise, detector, subject) with evidence accumulating. Runners:
``replay`` (a file, in event-time order, in a fresh in-memory store), ``runner``
(the database log by position, crash-safe), ``spark`` (Structured Streaming).
See docs/monitor.md.
"""
