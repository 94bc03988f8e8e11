"""Duplicate request filters."""
