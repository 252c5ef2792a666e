"""Entry module: `campaigns update-warming` (spark-submit jobs/warming_job.py), each warming
IP pool's cap for the day from yesterday's deliverability, and `campaigns simulate-warming`,
the same update over simulated weeks of sending in a throwaway warehouse.

Airflow's daily reporting DAG runs the update after attribution, before the day's
deliveries; rerunning a day rewrites that day's rows, never advancing a ramp twice.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from jobs.config import ConfigError, ConfigProblem, load_conf
from jobs.reporting.catalog import default_sql_dir, register_catalog
from jobs.runtime import add_common_arguments, emit, entry_main, spark_job
from jobs.warehouse import Warehouse, build_spark
from jobs.warming.schedule import warming_pools
from jobs.warming.simulation import Scenario, WarmingSimulation, table
from jobs.warming.update import DELIVERABILITY_VIEWS, update_warming


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--date",
        type=date.fromisoformat,
        default=None,
        help="the day to decide caps for, judged on the day before (default: today, UTC)",
    )


def run(args: argparse.Namespace) -> int:
    today = args.date or datetime.now(UTC).date()
    with spark_job(args, app_name="campaigns-warming") as job:
        register_catalog(
            job.spark,
            job.warehouse,
            job.conf,
            default_sql_dir(job.conf),
            views=DELIVERABILITY_VIEWS,
        )
        run = update_warming(job.spark, job.warehouse.store, job.conf, today)
        emit("\n".join(run.lines()))
    return 0


def add_simulation_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    defaults = Scenario()
    parser.add_argument("--pool", default=None, help="warming IP pool (default: the first)")
    parser.add_argument("--days", type=int, default=defaults.days)
    parser.add_argument(
        "--demand", type=int, default=defaults.daily_demand, help="email the pool wants a day"
    )
    parser.add_argument("--bounce-rate", type=float, default=defaults.bounce_rate)
    parser.add_argument(
        "--spike-days",
        default=",".join(map(str, defaults.spike_days)),
        help="comma-separated day numbers with a bounce spike (empty: none)",
    )
    parser.add_argument("--spike-bounce-rate", type=float, default=defaults.spike_bounce_rate)
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="write the simulated warehouse here and keep it (default: a temporary folder)",
    )


def simulate(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    pools = warming_pools(conf)
    pool = args.pool or next(iter(sorted(pools)), None)
    if pool not in pools:
        raise ConfigError(
            [
                ConfigProblem(
                    str(conf.root / "platform.yaml"),
                    "ip_pools",
                    f"'{pool}' is not a warming pool (warming pools: {sorted(pools)}); "
                    "give --pool one whose entry has `warming:`",
                )
            ]
        )
    scenario = Scenario(
        days=args.days,
        daily_demand=args.demand,
        bounce_rate=args.bounce_rate,
        spike_days=tuple(int(d) for d in args.spike_days.split(",") if d.strip()),
        spike_bounce_rate=args.spike_bounce_rate,
    )
    with tempfile.TemporaryDirectory(prefix="warming-sim-") as scratch:
        root = str((args.keep or Path(scratch)).resolve())
        sim_conf = dataclasses.replace(
            conf, profile=conf.profile.model_copy(update={"warehouse_uri": root})
        )
        spark = build_spark(sim_conf.profile, app_name="campaigns-warming-simulation")
        try:
            simulation = WarmingSimulation(
                spark,
                Warehouse.from_profile(spark, sim_conf.profile),
                sim_conf,
                default_sql_dir(conf),
                pool,
                scenario,
            )
            emit("\n".join(table(simulation.run())))
        finally:
            spark.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    return entry_main(
        argv, prog="warming_job", description=__doc__, add_arguments=add_arguments, run=run
    )


if __name__ == "__main__":
    raise SystemExit(main())
