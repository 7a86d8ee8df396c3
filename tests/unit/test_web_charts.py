from datetime import UTC, datetime, timedelta

import pytest

from tmr.web.charts import HEIGHT, STYLES, TOP, bar_chart, line_chart, nice_max

TIMES = [datetime(2027, 1, 15, 8, 0, tzinfo=UTC) + timedelta(minutes=i) for i in range(5)]


@pytest.mark.parametrize(
    ("value", "integer", "top"),
    [
        (0, True, 4),
        (0, False, 1),
        (1, True, 4),
        (3, True, 4),
        (5, True, 8),
        (17, True, 20),
        (0.3, False, 0.4),
        (126, True, 200),
        (999, False, 1000),
        (0.031, False, 0.04),
    ],
)
def test_axis_tops_are_round_and_cover_the_data(value: float, integer: bool, top: float) -> None:
    assert nice_max(value, integer=integer) == pytest.approx(top)


def test_a_line_breaks_where_a_minute_has_no_value() -> None:
    chart = line_chart("k", "T", "s", "ms", TIMES, [("p50", [1.0, 2.0, None, 4.0, None])], str)
    (line,) = chart.lines
    assert len(line.segments) == 1  # the first two minutes
    assert len(line.segments[0].split()) == 2
    assert len(line.dots) == 1  # 4.0 stands alone: a dot, not a line
    assert chart.table.rows[2] == ("08:02", "no data")
    assert chart.table.headers == ("Minute (UTC)", "p50")
    assert [t.label for t in chart.x_ticks] == ["08:00", "08:01", "08:02", "08:03", "08:04"]
    assert chart.legend == (("p50", STYLES[0][0], STYLES[0][1], ""),)


def test_bars_stack_in_series_order_with_distinct_fills() -> None:
    chart = bar_chart("k", "T", "s", "n", TIMES, [("model", [1, 0, 0, 0, 2]), ("code", [1, 0, 0, 0, 0])], str)
    first, second, third = chart.bars
    assert first.y + first.height == pytest.approx(HEIGHT - 30)  # the first series sits on the axis
    assert second.y + second.height == pytest.approx(first.y)  # the second on top of it
    assert first.pattern != second.pattern
    assert third.label == "08:04: model 2"
    assert chart.y_ticks[-1].at == pytest.approx(TOP)  # the top tick is the plot's top
    assert [row[1:] for row in chart.table.rows] == [
        ("1", "1"),
        ("0", "0"),
        ("0", "0"),
        ("0", "0"),
        ("2", "0"),
    ]
