"""Reviewing migrations: lint rules, the reversal check, the round-trip check."""
