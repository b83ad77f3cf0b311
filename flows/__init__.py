"""Flows: see README."""
