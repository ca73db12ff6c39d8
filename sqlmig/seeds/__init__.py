"""Seed files and loading them."""
