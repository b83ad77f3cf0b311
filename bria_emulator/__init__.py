"""Offline emulator of Bria's API (tailored generation v1, image generation and status v2)."""

from __future__ import annotations

from bria_emulator.app import create_app
from bria_emulator.config import EmulatorConfig
from bria_emulator.faults import FaultProfile, FaultRule
from bria_emulator.server import EmulatorServer, serve

__all__ = ["EmulatorConfig", "EmulatorServer", "FaultProfile", "FaultRule", "create_app", "serve"]
