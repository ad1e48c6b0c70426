"""Helpers shared by tests of several rooms (imported, unlike fixtures, which live in
tests/conftest.py)."""
