"""Sensitive models' monitors: an owner's JavaScript program that may veto each download."""

from tmr.monitors.models import (
    MAX_PROGRAM_BYTES,
    Monitor,
    MonitorLimits,
    MonitorRepository,
    MonitorRunner,
    MonitorVerdict,
)
from tmr.monitors.sandbox import MonitorSandbox, node_executable, validate_program

__all__ = [
    "MAX_PROGRAM_BYTES",
    "Monitor",
    "MonitorLimits",
    "MonitorRepository",
    "MonitorRunner",
    "MonitorSandbox",
    "MonitorVerdict",
    "node_executable",
    "validate_program",
]
