"""Tasks: see README."""
