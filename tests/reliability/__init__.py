"""The reliability and security matrix (issue #6): one test per row, each printing its figure (pytest -s)."""
