"""Benchmarks of bria-flows against hand-written scripts (``python -m bench.run``; results in RESULTS.md)."""
