"""Fixtures of the privacy tests: `own_database` is in tests/conftest.py (imports use it too)."""
