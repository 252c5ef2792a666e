"""Which campaigns a launch runs, under which run ids, with which secret.

The command line names campaigns; this turns them into `CampaignLaunch`es before
any data is read (an unknown id, or a run id given for several campaigns, fails
first), and reads the promo-code secret only when some variant has an offer.
"""

from __future__ import annotations

from datetime import datetime

from jobs.audience.launch import CampaignLaunch, LaunchReport, default_run_id, launch
from jobs.config import Conf
from jobs.config.secrets import secret_from_env
from jobs.errors import OperatorError
from jobs.quality.checks import QualityGate
from jobs.warehouse import Warehouse


class LaunchRequestError(OperatorError):
    """A launch asked for something that cannot be launched as asked."""


def plan_launches(
    conf: Conf, campaign_ids: list[str], as_of: datetime, *, run_id: str | None = None
) -> list[CampaignLaunch]:
    """Resolve ids to configured campaigns (unknown ids fail before any data is read)."""
    if not campaign_ids:
        raise LaunchRequestError("name at least one campaign id, or pass --all")
    if run_id and len(campaign_ids) != 1:
        raise LaunchRequestError(
            f"--run-id {run_id} names one run, but {len(campaign_ids)} campaigns were given: "
            "launch exactly one campaign with it"
        )
    return [
        CampaignLaunch(
            campaign=conf.campaign(campaign_id),
            retailer=conf.retailer(conf.campaign(campaign_id).retailer_id),
            run_id=run_id or default_run_id(campaign_id, as_of),
        )
        for campaign_id in campaign_ids
    ]


def launch_campaigns(
    conf: Conf,
    warehouse: Warehouse,
    launches: list[CampaignLaunch],
    *,
    as_of: datetime,
    quality: bool = True,
) -> LaunchReport:
    """Launch with the promo secret from the environment and the quality gates on."""
    needs_secret = any(v.offer for lo in launches for v in lo.campaign.variants)
    secret = (
        secret_from_env(
            conf.platform.promo_code_secret_env, conf.profile, purpose="HMAC key for promo codes"
        )
        if needs_secret
        else None
    )
    return launch(
        warehouse,
        launches,
        as_of=as_of,
        promo_secret=secret,
        gate=QualityGate() if quality else None,
    )
