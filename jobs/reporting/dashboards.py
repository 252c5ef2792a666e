"""One HTML dashboard per retailer, from the same SQL reports analysts query.

Every number on a page comes from a `rpt_` view, filtered to that retailer by
a bound parameter. A page holds no other retailer's rows, names or numbers.
Charts are inline SVG drawn here, with no JavaScript and nothing fetched, so a
page opens from disk or behind any proxy. Each number is also in a table,
marked `data-metric`, so a test or a reader can check it against the SQL.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from jobs.config import Conf, RetailerConfig

# Where `campaigns dashboard` and the demo write the pages (one folder per retailer).
DEFAULT_DASHBOARD_DIR = Path("var/dashboards")
REPORTS = (
    "rpt_campaign_performance",
    "rpt_experiment_readout",
    "rpt_campaign_roi",
    "rpt_deliverability",
    "rpt_daily_sends",
    "rpt_warming",
    "rpt_allocation_waves",
    "rpt_adaptive_readout",
)
Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Dashboard:
    retailer_id: str
    path: Path


def retailer_reports(spark: SparkSession, retailer_id: str) -> dict[str, Rows]:
    """Each report's rows of one retailer (a bound parameter, never string-built SQL)."""
    return {
        report: [
            row.asDict()
            for row in spark.sql(
                # each report's leading columns after the retailer are its keys
                f"select * from {report} where retailer_id = :retailer order by 2, 3",
                args={"retailer": retailer_id},
            ).collect()
        ]
        for report in REPORTS
    }


def write_dashboards(spark: SparkSession, conf: Conf, out_dir: Path) -> list[Dashboard]:
    written = []
    for retailer in sorted(conf.retailers.values(), key=lambda r: r.retailer_id):
        path = out_dir / retailer.retailer_id / "index.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        page = render_dashboard(retailer, retailer_reports(spark, retailer.retailer_id))
        path.write_text(page, encoding="utf-8")
        written.append(Dashboard(retailer.retailer_id, path))
    return written


def render_dashboard(retailer: RetailerConfig, reports: dict[str, Rows]) -> str:
    performance = reports["rpt_campaign_performance"]
    experiments = [r for r in reports["rpt_experiment_readout"] if not r["is_control"]]
    days, sends_by_channel = _by_day(reports["rpt_daily_sends"])
    campaigns = [r["campaign_id"] for r in performance]
    sections = [
        _chart("Sends over time", grouped_bars(days, sends_by_channel)),
        _chart(
            "Delivery, opens and clicks",
            grouped_bars(
                campaigns,
                {
                    metric: [r[metric] for r in performance]
                    for metric in ("sends", "delivered", "opens", "clicks", "conversions")
                },
            ),
        ),
        _chart(
            "Lift against control (95% interval)",
            intervals(
                [f"{r['campaign_id']} / {r['variant_id']}" for r in experiments],
                [(r["lift"], r["lift_ci_low"], r["lift_ci_high"]) for r in experiments],
            ),
        ),
        _chart(
            "Attributed and incremental revenue ($)",
            grouped_bars(
                campaigns,
                {
                    "attributed": [r["attributed_revenue_cents"] / 100 for r in performance],
                    "incremental": [
                        float(r["incremental_revenue_cents"] or 0) / 100 for r in performance
                    ],
                },
            ),
        ),
        _chart("ROI", bars(campaigns, [r["roi"] or 0.0 for r in performance], "{:.1f}x")),
        _table("Campaigns", performance, PERFORMANCE_COLUMNS, key="campaign_id"),
        _table(
            "Experiments", reports["rpt_experiment_readout"], EXPERIMENT_COLUMNS, key="variant_id"
        ),
        *_adaptive_sections(reports["rpt_allocation_waves"], reports["rpt_adaptive_readout"]),
        _table(
            "Deliverability", reports["rpt_deliverability"], DELIVERABILITY_COLUMNS, key="sent_on"
        ),
        _table(
            "Sending limits (IP warming)",
            reports["rpt_warming"],
            WARMING_COLUMNS,
            key="schedule_date",
            empty=f"IP pool {retailer.ip_pool} is not warming: email is not capped by a plan.",
        ),
    ]
    return PAGE.format(
        title=html.escape(f"{retailer.brand.name}: campaign results"),
        color=html.escape(retailer.brand.primary_color),
        brand=html.escape(retailer.brand.name),
        body="\n".join(sections),
    )


PERFORMANCE_COLUMNS = (
    "campaign_id",
    "sends",
    "delivered",
    "delivery_rate",
    "opens",
    "clicks",
    "conversions",
    "attributed_revenue_cents",
    "incremental_revenue_cents",
    "total_cost_cents",
    "roi",
    "roi_basis",
)
EXPERIMENT_COLUMNS = (
    "campaign_id",
    "variant_id",
    "is_control",
    "recipients",
    "open_rate",
    "click_rate",
    "conversion_rate",
    "revenue_per_recipient_cents",
    "lift",
    "lift_ci_low",
    "lift_ci_high",
    "p_value",
    "is_sample_too_small",
)
ADAPTIVE_COLUMNS = (
    "campaign_id",
    "run_id",
    "variant_id",
    "metric",
    "sent",
    "successes",
    "estimator",
    "rate",
    "rate_ci_low",
    "rate_ci_high",
    "pooled_rate",
    "share_covered",
    "is_winner",
)
WAVE_COLUMNS = (
    "run_id",
    "wave",
    "variant_id",
    "weight",
    "prob_best",
    "sent",
    "successes",
    "rate",
    "is_stopped",
)
DELIVERABILITY_COLUMNS = (
    "sent_on",
    "ip_pool",
    "sent",
    "delivered",
    "delivery_rate",
    "bounce_rate",
    "complaint_rate",
    "unsubscribe_rate",
    "meets_delivery_bar",
)

WARMING_COLUMNS = (
    "schedule_date",
    "ip_pool",
    "state",
    "daily_cap",
    "email_sent",
    "cap_used",
    "reason",
    "has_capacity_alert",
)


def _adaptive_sections(waves: Rows, readout: Rows) -> list[str]:
    """Adaptive runs: each wave's weights and results, and each variant's wave-stratified
    rate with its interval (the pooled one beside it, for comparison). None without any."""
    if not readout:
        return []
    return [
        _chart(
            "Adaptive runs: each variant's rate, wave-stratified (95% interval)",
            intervals(
                [f"{r['run_id']} / {r['variant_id']}" for r in readout],
                [(r["rate"], r["rate_ci_low"], r["rate_ci_high"]) for r in readout],
            ),
        ),
        _table("Adaptive runs: estimates", readout, ADAPTIVE_COLUMNS, key="run_id"),
        _table("Adaptive runs: waves", waves, WAVE_COLUMNS, key="run_id"),
    ]


def _by_day(rows: Rows) -> tuple[list[str], dict[str, list[int]]]:
    """rpt_daily_sends as chart series: the days, and each channel's sends on each day."""
    days = sorted({str(row["sent_on"]) for row in rows})
    sends = {(str(row["sent_on"]), row["channel"]): row["sends"] for row in rows}
    channels = sorted({row["channel"] for row in rows})
    return days, {c: [sends.get((day, c), 0) for day in days] for c in channels}


def _chart(title: str, svg: str) -> str:
    return f'<section class="chart"><h2>{html.escape(title)}</h2>{svg}</section>'


def _table(
    title: str, rows: Rows, columns: Sequence[str], *, key: str, empty: str = "No rows yet."
) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td data-metric="{c}" data-key="{html.escape(str(row[key]))}" '
            f'data-value="{html.escape(_raw(row[c]))}">{html.escape(_shown(row[c]))}</td>'
            for c in columns
        )
        + "</tr>"
        for row in rows
    )
    if not rows:
        body = f'<tr><td class="empty" colspan="{len(columns)}">{html.escape(empty)}</td></tr>'
    return (
        f'<section class="table"><h2>{html.escape(title)}</h2>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
    )


def _raw(value: Any) -> str:
    return "" if value is None else str(value)


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# --- inline SVG ----------------------------------------------------------------------

WIDTH, HEIGHT, MARGIN = 640, 220, 40
PALETTE = ("#1B7F3B", "#336699", "#C9822B", "#7A4EA3", "#A33B3B")


def bars(labels: list[str], values: Sequence[float], label_format: str) -> str:
    """One bar a label, scaled to the largest absolute value."""
    return grouped_bars(labels, {"": [float(v) for v in values]}, label_format=label_format)


def grouped_bars(
    labels: list[str], series: Mapping[str, Sequence[Any]], *, label_format: str = "{:,.0f}"
) -> str:
    values = {name: [float(v or 0) for v in vs] for name, vs in series.items()}
    top = max([*(abs(v) for vs in values.values() for v in vs), 1e-9])
    slot = (WIDTH - 2 * MARGIN) / max(1, len(labels))
    width = slot * 0.8 / max(1, len(values))
    shapes = []
    for s, (name, vs) in enumerate(values.items()):
        for i, value in enumerate(vs):
            height = abs(value) / top * (HEIGHT - 2 * MARGIN)
            x = MARGIN + i * slot + slot * 0.1 + s * width
            y = HEIGHT - MARGIN - height
            shapes.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                f'height="{height:.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                f"<title>{html.escape(name)} {label_format.format(value)}</title></rect>"
                f'<text class="value" x="{x + width / 2:.1f}" y="{y - 3:.1f}" '
                f'text-anchor="middle" font-size="10">{label_format.format(value)}</text>'
            )
    shapes += [
        f'<text x="{MARGIN + i * slot + slot / 2:.1f}" y="{HEIGHT - 12}" '
        f'text-anchor="middle" font-size="11">{html.escape(label)}</text>'
        for i, label in enumerate(labels)
    ]
    legend = [
        f'<text x="{MARGIN + 110 * s}" y="14" font-size="11" '
        f'fill="{PALETTE[s % len(PALETTE)]}">{html.escape(name)}</text>'
        for s, name in enumerate(values)
        if name
    ]
    return _svg(shapes + legend)


def intervals(labels: list[str], points: list[tuple[Any, Any, Any]]) -> str:
    """A dot and its interval a label, around a zero line."""
    numbers = [float(v) for p in points for v in p if v is not None]
    low, high = min([*numbers, -0.1]), max([*numbers, 0.1])

    def y(value: float) -> float:
        return HEIGHT - MARGIN - (value - low) / (high - low) * (HEIGHT - 2 * MARGIN)

    slot = (WIDTH - 2 * MARGIN) / max(1, len(labels))
    shapes = [f'<line x1="{MARGIN}" x2="{WIDTH - MARGIN}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
              'stroke="#999" stroke-dasharray="4"/>']  # fmt: skip
    for i, (label, (point, lo, hi)) in enumerate(zip(labels, points, strict=True)):
        x = MARGIN + i * slot + slot / 2
        if point is not None and lo is not None and hi is not None:
            shapes.append(
                f'<line class="interval" x1="{x:.1f}" x2="{x:.1f}" y1="{y(float(lo)):.1f}" '
                f'y2="{y(float(hi)):.1f}" stroke="#336699" stroke-width="2"/>'
                f'<circle class="point" cx="{x:.1f}" cy="{y(float(point)):.1f}" r="4" '
                f'fill="#1B7F3B"><title>lift {float(point):.1%}</title></circle>'
            )
        shapes.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 12}" text-anchor="middle" font-size="11">'
            f"{html.escape(label)}</text>"
        )
    return _svg(shapes)


def _svg(shapes: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img">' + "".join(shapes) + "</svg>"
    )


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ margin: 0; font-family: system-ui, Helvetica, Arial, sans-serif; color: #222; }}
  header {{ padding: 14px 24px; color: #fff; background: {color}; }}
  main {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(660px, 1fr));
          gap: 16px; padding: 16px 24px; }}
  section {{ background: #fff; border: 1px solid #ddd; padding: 8px 12px; overflow-x: auto; }}
  table {{ border-collapse: collapse; font-size: 12px; }}
  td, th {{ border-bottom: 1px solid #eee; padding: 3px 6px; text-align: right; }}
  h2 {{ font-size: 15px; margin: 4px 0 8px 0; }}
</style>
</head>
<body>
<header><h1>{brand}</h1><p>Campaign results from the SQL reports (sql/rpt_*)</p></header>
<main>
{body}
</main>
</body>
</html>
"""
