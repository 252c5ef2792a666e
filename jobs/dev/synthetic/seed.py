"""Writes the synthetic input tables through the warehouse layer."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from pyspark.sql import DataFrame

from jobs.config.loader import Conf
from jobs.dev.synthetic.generator import (
    SeedSpec,
    SyntheticRetailer,
    generate_consents,
    generate_customers,
    generate_orders,
)
from jobs.warehouse import INPUT_TABLES, Warehouse, table_spec

log = logging.getLogger(__name__)
FINGERPRINT_KEY = "seed_fingerprint"


@dataclass(frozen=True)
class SeedReport:
    fingerprint: str
    retailers: int
    skipped: bool
    seconds: float
    rows: dict[str, int]

    def line(self) -> str:
        verb = "already seeded (nothing written)" if self.skipped else "seeded"
        rows = ", ".join(f"{name} {count:,}" for name, count in self.rows.items())
        return (
            f"warehouse {verb}: {self.retailers} retailers; {rows}; "
            f"fingerprint {self.fingerprint}; {self.seconds:.1f} s"
        )


def seed_retailers(conf: Conf, count: int) -> list[SyntheticRetailer]:
    """The configured retailers first, then synthetic ones up to `count`.

    Large seeds (350 banners) need more retailers than conf/ holds; the extra
    ones get stable ids (`retailer-0004`, ...) and both channels.
    """
    configured = [
        SyntheticRetailer(r.retailer_id, r.default_locale, list(r.channels))
        for r in sorted(conf.retailers.values(), key=lambda r: r.retailer_id)
    ]
    extra = [
        SyntheticRetailer(f"retailer-{index:04d}", "en-US", ["email", "push"])
        for index in range(len(configured) + 1, count + 1)
    ]
    return (configured + extra)[:count]


def seed_warehouse(
    warehouse: Warehouse, retailers: list[SyntheticRetailer], spec: SeedSpec, *, force: bool = False
) -> SeedReport:
    """Replace the input tables with the data `spec` describes.

    Seeding is idempotent: when every input table's newest seed commit carries this
    spec's fingerprint, nothing is written (pass `force` to rewrite anyway). Later
    appends by other jobs (orders that follow a campaign, say) do not count.
    """
    started = time.perf_counter()
    fingerprint = spec.fingerprint(
        [(r.retailer_id, r.default_locale, r.channels) for r in retailers]
    )
    skipped = not force and all(
        warehouse.store.newest_metadata(name, FINGERPRINT_KEY) == fingerprint
        for name in INPUT_TABLES
    )
    if skipped:
        log.info("input tables already hold seed %s; nothing to do", fingerprint)
    else:
        _write_inputs(warehouse, retailers, spec, fingerprint)
    return SeedReport(
        fingerprint,
        len(retailers),
        skipped,
        time.perf_counter() - started,
        {name: warehouse.summary(name).rows for name in INPUT_TABLES},
    )


def _write_inputs(
    warehouse: Warehouse, retailers: list[SyntheticRetailer], spec: SeedSpec, fingerprint: str
) -> None:
    customers_df = generate_customers(warehouse.spark, spec, retailers).cache()
    tables: dict[str, DataFrame] = {
        "customers": customers_df,
        "orders": generate_orders(customers_df, spec),
        "consents": generate_consents(customers_df, spec, retailers),
    }
    metadata = {FINGERPRINT_KEY: fingerprint, "job": "seed", "seed": str(spec.seed)}
    for name, df in tables.items():
        warehouse.write(
            df.select(*table_spec(name).column_names), name, mode="overwrite", metadata=metadata
        )
        log.info("wrote %s", name)
    customers_df.unpersist()
