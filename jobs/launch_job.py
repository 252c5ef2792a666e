"""Entry module: launch campaigns (audience -> suppression -> variant -> offer -> events).

campaigns launch fresh-mart-winback [--run-id ID] [--as-of 2026-11-01]
campaigns launch --all
spark-submit jobs/launch_job.py fresh-mart-winback
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

from jobs.audience.launch import CampaignLaunch, LaunchReport, default_run_id, launch
from jobs.config import Conf
from jobs.config.secrets import secret_from_env
from jobs.quality.checks import QualityGate
from jobs.runtime import JobContext, add_common_arguments, emit, entry_main, spark_job


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "campaign_ids", nargs="*", metavar="CAMPAIGN_ID", help="campaigns to launch (or --all)"
    )
    parser.add_argument("--all", action="store_true", help="launch every configured campaign")
    parser.add_argument(
        "--run-id", default=None, help="run id (one campaign only); default <campaign>-<as-of day>"
    )
    parser.add_argument(
        "--as-of",
        type=_as_of,
        default=None,
        help="logical date or time of the run, UTC (default: today 00:00)",
    )
    parser.add_argument(
        "--skip-quality",
        action="store_true",
        help="skip the Great Expectations gates (not for production)",
    )


def _as_of(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=parsed.tzinfo or UTC)


def plan_launches(
    conf: Conf, campaign_ids: list[str], as_of: datetime, *, run_id: str | None = None
) -> list[CampaignLaunch]:
    """Resolve ids to configured campaigns (unknown ids fail before any data is read)."""
    if not campaign_ids:
        raise SystemExit("name at least one campaign id, or pass --all")
    if run_id and len(campaign_ids) != 1:
        raise SystemExit("--run-id names one run: launch exactly one campaign with it")
    return [
        CampaignLaunch(
            campaign=conf.campaign(campaign_id),
            retailer=conf.retailer(conf.campaign(campaign_id).retailer_id),
            run_id=run_id or default_run_id(campaign_id, as_of),
        )
        for campaign_id in campaign_ids
    ]


def format_report(report: LaunchReport) -> str:
    lines = [f"already launched (nothing written): {run_id}" for run_id in report.already_launched]
    for s in report.launched:
        reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(s.suppressed_by_reason.items()))
        lines.append(
            f"launched {s.run_id} ({s.retailer_id}): audience {s.audience_customers:,} customers, "
            f"{s.audience_size:,} messages; suppressed {sum(s.suppressed_by_reason.values()):,} "
            f"({reasons or 'none'}); events {s.events:,} (holdout {s.holdout_size:,})"
        )
    return "\n".join(lines)


def launch_campaigns(
    job: JobContext, launches: list[CampaignLaunch], *, as_of: datetime, quality: bool = True
) -> LaunchReport:
    """Launch with the promo secret from the environment and the quality gates on."""
    needs_secret = any(v.offer for lo in launches for v in lo.campaign.variants)
    secret = (
        secret_from_env(
            job.conf.platform.promo_code_secret_env,
            job.conf.profile,
            purpose="HMAC key for promo codes",
        )
        if needs_secret
        else None
    )
    report = launch(
        job.warehouse,
        launches,
        as_of=as_of,
        promo_secret=secret,
        gate=QualityGate() if quality else None,
    )
    emit(format_report(report))
    return report


def run(args: argparse.Namespace) -> int:
    as_of = args.as_of or datetime.combine(date.today(), datetime.min.time(), tzinfo=UTC)
    with spark_job(args, app_name="campaigns-launch") as job:
        ids = sorted(job.conf.campaigns) if args.all else list(args.campaign_ids)
        launches = plan_launches(job.conf, ids, as_of, run_id=args.run_id)
        launch_campaigns(job, launches, as_of=as_of, quality=not args.skip_quality)
    return 0


def main(argv: list[str] | None = None) -> int:
    return entry_main(
        argv, prog="launch_job", description=__doc__, add_arguments=add_arguments, run=run
    )


if __name__ == "__main__":
    raise SystemExit(main())
