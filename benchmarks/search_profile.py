"""py-spy around one benchmark phase, and the frames that took its time.

    with sampled(server_pid, Path("regex.txt")):
        ...load...
    print(report(Path("regex.txt")))

py-spy samples the server from outside (`--nonblocking`: the server is never paused), so the
profiled code is the code under test, unchanged. Its raw output is one collapsed stack per line
with a sample count; `report` turns that into the functions with the most samples on the stack
(inclusive) and at the top of it (self), which is what names a bottleneck.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from common import ROOT

PY_SPY = ROOT / ".venv" / "bin" / "py-spy"


@contextlib.contextmanager
def sampled(pid: int, out: Path | None, rate: int = 50) -> Iterator[None]:
    """Record `pid` while the block runs (nothing when `out` is None)."""
    if out is None:
        yield
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [str(PY_SPY), "record", "--nonblocking", "-r", str(rate), "-f", "raw", "-o", str(out)]
    process = subprocess.Popen(
        [*command, "--pid", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            err = b""
        if not out.exists():
            print(f"py-spy wrote no profile: {err.decode(errors='replace')[-500:]}")


def _frame(raw: str) -> str:
    """`function (path/to/module.py:line)` -> `function (module.py)`: one entry per function."""
    name, _, where = raw.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


# The server's plumbing (threads, event loop, CLI): on every stack, so it names nothing.
_PLUMBING = ("threading.py", "anyio/", "asyncio/", "selectors.py", "concurrent/", "typer/", "uvicorn/")
_PLUMBING_NAMES = ("<module>", "main (tmr/cli.py)", "serve (tmr/cli.py)")


def _plumbing(frame: str) -> bool:
    where = frame.rsplit(" (", 1)[-1]
    return where.startswith(_PLUMBING) or frame.startswith(_PLUMBING_NAMES)


def report(path: Path, top: int = 25) -> dict[str, object]:
    """Samples, and the functions with the largest inclusive and self shares of them (idle
    event-loop waits and thread plumbing left out of the inclusive list)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";") if " (" in f]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            if not _plumbing(frame):
                inclusive[frame] += count

    def share(counter: Counter[str]) -> list[str]:
        return [f"{100 * n / total:5.1f}%  {frame}" for frame, n in counter.most_common(top)]

    return {
        "samples": total,
        "inclusive": share(inclusive) if total else [],
        "self": share(own) if total else [],
    }
