"""Small server-rendered SVG charts: an anomaly's week against the rep's history."""

from dataclasses import dataclass
from datetime import date, timedelta

WIDTH, HEIGHT, PAD = 320, 90, 14
HISTORY_WEEKS = 20

# Which weekly number each anomaly is about.
METRIC = {
    "short_visits_spike": "short_visits",
    "visit_count_outlier": "visits",
    "low_visit_rate": "rate",
}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    current: bool
    label: str  # "2026-W47: 34"


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    mean_y: float | None
    top: str  # the value at the top of the scale
    width: int = WIDTH
    height: int = HEIGHT


def _value(row: dict, metric: str) -> float:
    if metric == "rate":
        return round(100 * row["planned_done"] / row["planned"]) if row["planned"] else 0
    return row[metric]


def week_chart(history: list[dict], week_start: date, code: str) -> Chart:
    """Bars for the anomaly's week and the 20 before it; the mean of the history dashed."""
    metric = METRIC.get(code, "visits")
    first = week_start - timedelta(weeks=HISTORY_WEEKS)
    rows = {r["week_start"]: r for r in history if first <= r["week_start"] <= week_start}
    weeks = [first + timedelta(weeks=i) for i in range(HISTORY_WEEKS + 1)]
    values = [_value(rows[w], metric) if w in rows else 0 for w in weeks]
    top = max(max(values), 1)
    slot = (WIDTH - 2 * PAD) / len(weeks)
    scale = (HEIGHT - 2 * PAD) / top
    bars = []
    for i, (week, value) in enumerate(zip(weeks, values, strict=True)):
        height = value * scale
        iso = week.isocalendar()
        bars.append(
            Bar(
                x=round(PAD + i * slot + 1, 1),
                y=round(HEIGHT - PAD - height, 1),
                width=round(slot - 2, 1),
                height=round(height, 1),
                current=week == week_start,
                label=f"{iso.year}-W{iso.week:02d}: {value:g}{' %' if metric == 'rate' else ''}",
            )
        )
    past = [v for w, v in zip(weeks, values, strict=True) if w != week_start and w in rows]
    mean_y = round(HEIGHT - PAD - sum(past) / len(past) * scale, 1) if past else None
    return Chart(bars=bars, mean_y=mean_y, top=f"{top:g}{' %' if metric == 'rate' else ''}")
