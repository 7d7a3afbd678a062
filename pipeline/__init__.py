"""Probation inspection analytics."""
