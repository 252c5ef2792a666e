"""Which campaigns a launch runs, under which run ids, with which secret.

The command line names campaigns; this turns them into `CampaignLaunch`es before
any data is read (an unknown id, or a run id given for several campaigns, fails
first), and reads the promo-code secret only when some variant has an offer.
"""

from __future__ import annotations

from datetime import datetime

from jobs.allocation.waves import WaveLaunch, decide_allocation, wave_launch, wave_run_id
from jobs.audience.launch import CampaignLaunch, LaunchReport, default_run_id, launch
from jobs.config import Conf
from jobs.config.models import CampaignConfig
from jobs.config.secrets import secret_from_env
from jobs.errors import OperatorError
from jobs.quality.checks import QualityGate
from jobs.warehouse import Warehouse
from jobs.warehouse.store import DeltaStore


class LaunchRequestError(OperatorError):
    """A launch asked for something that cannot be launched as asked."""


def plan_launches(
    conf: Conf,
    campaign_ids: list[str],
    as_of: datetime,
    *,
    run_id: str | None = None,
    wave: int | None = None,
) -> list[CampaignLaunch]:
    """Resolve ids to configured campaigns (unknown ids fail before any data is read);
    with `wave`, each is that wave of its adaptive run, with the weights decided for it."""
    if not campaign_ids:
        raise LaunchRequestError("name at least one campaign id, or pass --all")
    if run_id and len(campaign_ids) != 1:
        raise LaunchRequestError(
            f"--run-id {run_id} names one run, but {len(campaign_ids)} campaigns were given: "
            "launch exactly one campaign with it"
        )
    campaigns = [conf.campaign(campaign_id) for campaign_id in campaign_ids]
    store = DeltaStore.from_profile(conf.profile)
    launches = []
    for campaign in campaigns:
        logical_run = run_id or default_run_id(campaign.campaign_id, as_of)
        retailer = conf.retailer(campaign.retailer_id)
        if wave is None:
            _require_fixed(campaign)
            launches.append(CampaignLaunch(campaign, retailer, logical_run))
            continue
        launched = _wave(store, campaign, logical_run, wave)
        launches.append(
            CampaignLaunch(campaign, retailer, wave_run_id(logical_run, wave), launched)
        )
    return launches


def _require_fixed(campaign: CampaignConfig) -> None:
    if campaign.allocation.is_adaptive:
        raise LaunchRequestError(
            f"campaign {campaign.campaign_id} allocates adaptively in "
            f"{campaign.allocation.waves} waves: launch one wave at a time with --wave K "
            "(its DAG does: decide-allocation, launch, deliver, wait, ingest-events)"
        )


def _wave(store: DeltaStore, campaign: CampaignConfig, run_id: str, wave: int) -> WaveLaunch:
    """The wave's recorded weights; the first wave's even split is recorded here if the
    decision step has not run (nothing is known before it)."""
    launched = wave_launch(store, campaign, run_id, wave)
    if launched is None and wave == 1:
        decide_allocation(store, campaign, run_id, wave)
        launched = wave_launch(store, campaign, run_id, wave)
    if launched is None:
        raise LaunchRequestError(
            f"wave {wave} of {run_id} has no allocation yet: run `campaigns decide-allocation "
            f"{campaign.campaign_id} --wave {wave}` after wave {wave - 1} was delivered and "
            "its events ingested"
        )
    return launched


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
