"""Nodes: each party (an enterprise, the supervision department, the police, an
auditor) runs its own process with its own database and keys, and the nodes talk
over mutually authenticated TLS with signed envelopes (docs/deployment.md)."""
