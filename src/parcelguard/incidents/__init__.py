"""Incidents and emergency response: security and emergency plans, drills,
incidents (grading, statutory deadlines, regulator reports, notices to affected
people, interventions) and the proposal of police referrals (docs/incidents.md)."""
