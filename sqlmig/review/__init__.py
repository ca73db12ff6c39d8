"""Reviewing migrations: lint (its rules and the reversal check), the round-trip check, docs."""
