"""How rows report: one greppable line per figure, ``row 1: ...`` (visible with pytest -s)."""

from __future__ import annotations


def figure(row: int, text: str) -> None:
    print(f"\nrow {row}: {text}")
