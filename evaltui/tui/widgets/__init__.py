"""Widgets the screens are built from, one per module."""
