"""Bridges between packages of the same row, which may not import each other
(../shared/ARCHITECTURE.md): the reactions that join them and the commands composed
of both. Everything else plugs itself in from its own package (core/plugin.py)."""
