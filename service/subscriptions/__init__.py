"""Delivering the event log to other services."""
