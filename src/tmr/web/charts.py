"""Per-minute charts drawn as SVG on the server: the geometry here, the markup in
`templates/_charts.html`.

Every chart comes with the table of the numbers it draws, so nothing is conveyed by the picture
alone; its series differ by dash pattern (lines) or fill pattern (bars) as well as by colour, and
every colour keeps at least 3:1 against the white plot. Pure functions: the page feeds them
values and a formatter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH = 560.0
HEIGHT = 220.0
LEFT, RIGHT, TOP, BOTTOM = 68.0, 14.0, 12.0, 30.0
Y_STEPS = 4

# colour (≥ 3:1 on white), line dash pattern, bar fill pattern (an SVG <pattern> id, or solid)
STYLES: tuple[tuple[str, str, str], ...] = (
    ("#0b57a4", "", ""),
    ("#b3261e", "8 4", "hatch"),
    ("#17652a", "2 3", "dots"),
    ("#6b3fa0", "10 4 2 4", "cross"),
    ("#8a4b00", "4 2", "hatch"),
    ("#3d4a5c", "1 3", "dots"),
)

Format = Callable[[float], str]


@dataclass(frozen=True, slots=True)
class Tick:
    at: float  # x or y in the SVG's coordinates
    label: str


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    colour: str
    dash: str
    segments: tuple[str, ...]  # "x,y x,y …" runs of consecutive measured minutes
    dots: tuple[tuple[float, float], ...]  # minutes measured alone (a line needs two points)


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    pattern: str
    label: str  # the bar's value in words, for its <title>


@dataclass(frozen=True, slots=True)
class Table:
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Chart:
    key: str  # unique on the page: ids of the SVG's title, description and table
    title: str
    summary: str  # the chart in one or two sentences (the SVG's description)
    unit: str
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    lines: tuple[Line, ...]
    bars: tuple[Bar, ...]
    legend: tuple[tuple[str, str, str, str], ...]  # name, colour, dash, pattern
    table: Table
    width: float = WIDTH
    height: float = HEIGHT
    left: float = LEFT
    right: float = WIDTH - RIGHT
    top: float = TOP
    bottom: float = HEIGHT - BOTTOM


Series = tuple[str, Sequence[float | None]]


def nice_max(value: float, *, integer: bool) -> float:
    """The smallest round top of the axis (Y_STEPS steps of 1, 2, 2.5 or 5 times 10^k) at or above
    `value`; whole steps for counts."""
    if not value > 0:
        return float(Y_STEPS) if integer else 1.0
    base = float(10 ** math.floor(math.log10(value / Y_STEPS)))
    for multiple in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = multiple * base
        if integer and (step < 1 or step != int(step)):
            continue
        if step * Y_STEPS >= value:
            return step * Y_STEPS
    return 10 * base * Y_STEPS


def minute_label(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _x_positions(count: int) -> list[float]:
    slot = (WIDTH - RIGHT - LEFT) / max(1, count)
    return [LEFT + slot * (i + 0.5) for i in range(count)]


def _x_ticks(times: Sequence[datetime], xs: Sequence[float]) -> tuple[Tick, ...]:
    if not times:
        return ()
    count = len(times)
    wanted = range(count) if count <= 6 else sorted({0, count // 4, count // 2, 3 * count // 4, count - 1})
    return tuple(Tick(xs[i], minute_label(times[i])) for i in wanted)


def _y(value: float, top_value: float) -> float:
    plot = HEIGHT - BOTTOM - TOP
    return HEIGHT - BOTTOM - plot * (value / top_value)


def _y_ticks(top_value: float, fmt: Format) -> tuple[Tick, ...]:
    return tuple(
        Tick(_y(top_value * i / Y_STEPS, top_value), fmt(top_value * i / Y_STEPS)) for i in range(Y_STEPS + 1)
    )


def _cell(value: float | None, fmt: Format) -> str:
    return "no data" if value is None else fmt(value)


def _table(title: str, times: Sequence[datetime], series: Sequence[Series], fmt: Format) -> Table:
    rows = tuple(
        (minute_label(moment), *(_cell(values[i], fmt) for _name, values in series))
        for i, moment in enumerate(times)
    )
    return Table(f"{title}, minute by minute (UTC)", ("Minute (UTC)", *(name for name, _v in series)), rows)


def line_chart(
    key: str,
    title: str,
    summary: str,
    unit: str,
    times: Sequence[datetime],
    series: Sequence[Series],
    fmt: Format,
    *,
    integer: bool = False,
) -> Chart:
    """One line per series; a minute without a value (None) breaks its line."""
    xs = _x_positions(len(times))
    measured = [v for _name, values in series for v in values if v is not None]
    top_value = nice_max(max(measured, default=0.0), integer=integer)
    lines = []
    for index, (name, values) in enumerate(series):
        colour, dash, _pattern = STYLES[index % len(STYLES)]
        runs: list[list[tuple[float, float]]] = [[]]
        for x, value in zip(xs, values, strict=True):
            if value is None:
                runs.append([])
            else:
                runs[-1].append((round(x, 2), round(_y(value, top_value), 2)))
        segments = tuple(" ".join(f"{x},{y}" for x, y in run) for run in runs if len(run) > 1)
        dots = tuple(run[0] for run in runs if len(run) == 1)
        lines.append(Line(name, colour, dash, segments, dots))
    return Chart(
        key=key,
        title=title,
        summary=summary,
        unit=unit,
        x_ticks=_x_ticks(times, xs),
        y_ticks=_y_ticks(top_value, fmt),
        lines=tuple(lines),
        bars=(),
        legend=tuple((line.name, line.colour, line.dash, "") for line in lines),
        table=_table(title, times, series, fmt),
    )


def bar_chart(
    key: str,
    title: str,
    summary: str,
    unit: str,
    times: Sequence[datetime],
    series: Sequence[Series],
    fmt: Format,
    *,
    integer: bool = True,
) -> Chart:
    """Bars per minute, the series stacked in order (each with its own colour and fill)."""
    xs = _x_positions(len(times))
    totals = [sum(values[i] or 0.0 for _name, values in series) for i in range(len(times))]
    top_value = nice_max(max(totals, default=0.0), integer=integer)
    width = (WIDTH - RIGHT - LEFT) / max(1, len(times)) * 0.7
    bars = []
    for i, x in enumerate(xs):
        base = 0.0
        for index, (name, values) in enumerate(series):
            value = values[i] or 0.0
            if value <= 0:
                continue
            colour, _dash, pattern = STYLES[index % len(STYLES)]
            y_top, y_base = _y(base + value, top_value), _y(base, top_value)
            label = f"{minute_label(times[i])}: {name} {fmt(value)}"
            bars.append(
                Bar(
                    round(x - width / 2, 2),
                    round(y_top, 2),
                    round(width, 2),
                    round(y_base - y_top, 2),
                    colour,
                    pattern,
                    label,
                )
            )
            base += value
    legend = tuple(
        (name, STYLES[i % len(STYLES)][0], "", STYLES[i % len(STYLES)][2])
        for i, (name, _v) in enumerate(series)
    )
    return Chart(
        key=key,
        title=title,
        summary=summary,
        unit=unit,
        x_ticks=_x_ticks(times, xs),
        y_ticks=_y_ticks(top_value, fmt),
        lines=(),
        bars=tuple(bars),
        legend=legend,
        table=_table(title, times, series, fmt),
    )
