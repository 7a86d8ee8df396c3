"""Process facts for the download benchmark, read from /proc: a server's process tree, its CPU
time and its peak resident memory. Both servers may fork workers, so each is measured as a tree."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from common import peak_rss_mib

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces and parentheses)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def process_tree(pid: int) -> list[int]:
    """`pid` and every live descendant (uvicorn's or nginx's workers)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(_stat_fields(int(entry.name))[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        tree.append(current)
        queue.extend(parents.get(current, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (exited ones are not counted)."""
    total = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / _TICKS


def tree_cpu_seconds(roots: list[int]) -> float:
    """CPU time of each root's live tree plus what the root's reaped children used (cutime and
    cstime): a difference of two readings then counts the processes that started or exited in
    between, such as PostgreSQL's backends, which a snapshot of live processes would miss."""
    total = 0
    for root in roots:
        for pid in process_tree(root):
            try:
                fields = _stat_fields(pid)
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
            if pid == root:
                total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / _TICKS


def machine_cpu_seconds() -> float:
    """Busy CPU time of the whole machine so far (user, nice, system, irq, softirq): minus the
    measured server and client, what else ran during a measurement on a shared machine."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[:7])
    return (user + nice + system + irq + softirq) / _TICKS


def reset_peak_rss(pid: int) -> bool:
    """Restart the process's VmHWM from its current RSS (Linux 4.0+, `clear_refs` value 5), so a
    peak read later belongs to the phase that follows; False when the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class TreePeak:
    """VmHWM of a server process and of each descendant. `sum_mib` is an upper bound of the
    tree's peak: the processes need not have peaked at once, and shared pages count in each."""

    main_mib: float
    sum_mib: float
    by_pid: dict[int, float]


def tree_peak_rss(pid: int) -> TreePeak:
    peaks: dict[int, float] = {}
    for member in process_tree(pid):
        try:
            peaks[member] = peak_rss_mib(member)
        except (OSError, RuntimeError):
            continue
    return TreePeak(peaks.get(pid, float("nan")), round(sum(peaks.values()), 1), peaks)


def reset_tree_peak_rss(pid: int) -> bool:
    """Reset every member's peak (all of them, even after one refusal); True when all took it."""
    results = [reset_peak_rss(member) for member in process_tree(pid)]
    return all(results)
