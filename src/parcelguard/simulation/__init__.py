"""A deterministic synthetic logistics world with injected abuse and ground truth.

``world.build_world(model.WorldConfig(seed=...))`` returns carriers, stations, staff, consumers,
parcels, the contract event stream (no PI values, sorted by ``occurred_at``) and the
injected scenarios with the exact ids of their malicious events. The writers put the
stream on disk as JSONL and the ground truth as JSON.

What the stream looks like (the conventions consumers may rely on):

- Time: RFC 3339 at second precision, always ``+08:00``; events lie in
  ``[start, start + days)``. Day 1 (the calendar day of ``start``) is a clean
  baseline; abuse happens on day 2 and later.
- Ids: ``event_id`` is ``ev-<enterprise no>-<8 hex>``, numbered in stream order, so
  unique per enterprise and across the world. Employees ``emp-NN-NNNN``, stations
  ``st-NN-NNN`` (``Station.kind`` tells hubs from outlets), partners ``ptn-NN-NN``,
  scraper clients ``cli-…``.
- Steady state: parcels are created from two days before ``start`` (``parcels``
  counts them too), so the window opens with parcels in transit and full delivery
  rounds; only the in-window part of their lives appears.
- Roster: every employee employed at ``start`` appears in a roster sync at ``start``
  (``hired`` with role, station and shift, ``background_check``, and
  ``training_completed`` if trained); ``Employee.hired_at`` keeps the real date.
  Later changes (``left``, ``transferred``, check results) come at their own time.
  ``World.employees`` describes the roster as of the end of the window.
- Access: every legitimate reveal or label print by an employee falls inside an
  ``assigned`` window for that employee and waybill. Logins and failed logins carry
  purpose ``other``. ``print_label`` lists the label's fields, which are printed
  masked. Benign noise exists on purpose: failed logins, a denied reveal after the
  window closed, late deliveries just after the shift, a spare PDA, label reprints,
  small approved exports (at most 300 records), e-commerce partners printing labels
  through the API (``actor_type`` partner).
- Networks: PDAs use 100.64.0.0/10 (carrier NAT), offices 10.0.0.0/8, partners
  198.18.0.0/15, outside attackers and rented-account scripts the RFC 5737
  documentation ranges.
- ``credential_stuffing``: ``actor_type`` external, ``actor_id`` the targeted account
  id (real or guessed), the attacker's single source in ``ip`` and ``device_id``.
"""
