"""The monitor sandbox's checks that run before any process: program, arguments, flags, limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from tmr.errors import InvalidInput
from tmr.monitors import MAX_PROGRAM_BYTES, MonitorLimits, MonitorSandbox, validate_program
from tmr.monitors.sandbox import node_flags

# Never started: every check below refuses before a process would be.
_NO_NODE = Path("/nonexistent/node")


def _run(program: str = "process.exit(0)", **overrides: str) -> None:
    arguments = {"model_name": "m", "uploader": "u", "downloader": "d", **overrides}
    MonitorSandbox(node=_NO_NODE).run(program, zip_path=Path("/nonexistent/p.zip"), **arguments)


def test_a_program_at_the_size_limit_is_accepted() -> None:
    program = "//" + "x" * (MAX_PROGRAM_BYTES - 2)
    assert validate_program(program) == program
    assert validate_program(program.encode()) == program


def test_a_program_over_the_size_limit_is_refused_counting_utf8_bytes() -> None:
    # 1 character short of the limit in code points, but 2 bytes each: well over it in bytes.
    with pytest.raises(InvalidInput, match="at most"):
        validate_program("é" * (MAX_PROGRAM_BYTES - 1))
    with pytest.raises(InvalidInput):
        _run("//" + "x" * MAX_PROGRAM_BYTES)


@pytest.mark.parametrize("program", [b"\xff\xfe console.log(1)", "console.log('\ud800')"])
def test_a_program_that_is_not_utf8_is_refused(program: str | bytes) -> None:
    with pytest.raises(InvalidInput, match="UTF-8"):
        validate_program(program)


@pytest.mark.parametrize("program", ["", "  \n\t"])
def test_a_blank_program_is_refused(program: str) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        validate_program(program)


@pytest.mark.parametrize("argument", ["model_name", "uploader", "downloader"])
def test_an_argument_with_a_nul_is_refused_before_running(argument: str) -> None:
    with pytest.raises(InvalidInput, match="NUL"):
        _run(**{argument: "bad\x00name"})


def test_the_flags_grant_reads_of_the_script_the_zip_and_the_guard_only() -> None:
    flags = node_flags(
        MonitorLimits(memory_mib=96), Path("/w/monitor.js"), Path("/d/p,1.zip"), Path("/w/tmr-guard.cjs")
    )
    assert flags == [
        "--permission",
        "--allow-fs-read=/w/monitor.js",
        "--allow-fs-read=/d/p,1.zip",
        "--allow-fs-read=/w/tmr-guard.cjs",
        "--require=/w/tmr-guard.cjs",
        "--max-old-space-size=96",
    ]
    assert not [flag for flag in flags if flag.startswith("--allow-") and "fs-read" not in flag]


def test_a_path_with_a_node_wildcard_is_never_granted() -> None:
    # Node reads `*` in --allow-fs-read as a wildcard: /data/* would grant the whole folder.
    with pytest.raises(ValueError, match="wildcard"):
        node_flags(MonitorLimits(), Path("/w/monitor.js"), Path("/data/*"), Path("/w/g.cjs"))


def test_the_address_space_limit_adds_nodes_own_reservations_to_the_memory_budget() -> None:
    limits = MonitorLimits(memory_mib=100, address_space_base_mib=1000)
    assert limits.address_space_bytes == 1100 * 1024 * 1024


@pytest.mark.parametrize(
    "overrides",
    [{"time_s": 0.0}, {"memory_mib": 8}, {"max_output_bytes": -1}, {"address_space_base_mib": -1}],
)
def test_nonsensical_limits_are_refused(overrides: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        MonitorLimits(**overrides)  # type: ignore[arg-type]
