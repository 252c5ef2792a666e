"""The per-campaign results table the demo ends with, read from rpt_campaign_performance."""

from __future__ import annotations

from pyspark.sql import SparkSession

COLUMNS = (
    ("campaign", 28),
    ("sends", 8),
    ("delivered", 10),
    ("opens", 7),
    ("clicks", 7),
    ("conversions", 12),
    ("attributed $", 13),
    ("ROI", 8),
)


def campaign_results(spark: SparkSession) -> str:
    """One line a campaign: sends, delivery rate, opens, clicks, conversions, revenue, ROI."""
    rows = spark.sql(
        "select * from rpt_campaign_performance order by retailer_id, campaign_id"
    ).collect()
    lines = ["results by campaign (rpt_campaign_performance)", _line([n for n, _ in COLUMNS])]
    for row in rows:
        roi = "n/a" if row["roi"] is None else f"{row['roi']:.1f}x"
        basis = "" if row["roi_basis"] == "incremental" else "*"
        lines.append(
            _line(
                [
                    row["campaign_id"],
                    f"{row['sends']:,}",
                    f"{(row['delivery_rate'] or 0):.1%}",
                    f"{row['opens']:,}",
                    f"{row['clicks']:,}",
                    f"{row['conversions']:,}",
                    f"${row['attributed_revenue_cents'] / 100:,.2f}",
                    roi + basis,
                ]
            )
        )
    lines.append("ROI: (incremental revenue - cost) / cost against the holdout; * on attributed")
    return "\n".join(lines)


def _line(cells: list[str]) -> str:
    first, *rest = cells
    return f"{first:<{COLUMNS[0][1]}}" + "".join(
        f"{cell:>{width}}" for cell, (_, width) in zip(rest, COLUMNS[1:], strict=True)
    )
