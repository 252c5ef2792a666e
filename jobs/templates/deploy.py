"""Put each retailer's branded templates into its own workspace: the step CI/CD runs on merge.

For every retailer: list what its workspace holds (one request per channel),
compare content hashes, and create or update only what changed. Workspaces
are deployed concurrently, each paced by its own configured rate limit and
retried as the provider says (Retry-After); one workspace failing is reported
and stops no other. Templates that fail validation are withheld (for every
retailer, or for the one retailer whose brand or overrides break them) and
everything else still goes out.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Literal, TypeVar

import pyarrow as pa

from jobs.config import Conf, RetailerConfig
from jobs.providers import PermanentError, ProviderError, RetryableError, Template
from jobs.providers.braze import AsyncBrazeClient
from jobs.providers.pacing import RetryPolicy, TokenBucket
from jobs.providers.routing import ProviderRouter
from jobs.templates.compose import content_hash, deployable
from jobs.templates.library import TemplateLibrary
from jobs.templates.problems import TemplateProblem
from jobs.templates.validate import validate_library
from jobs.templates.variables import retailer_variables
from jobs.warehouse.registry import TEMPLATE_DEPLOYMENTS
from jobs.warehouse.store import DeltaStore

log = logging.getLogger(__name__)
Action = Literal["created", "updated", "unchanged", "failed"]
T = TypeVar("T")
DEFAULT_CONCURRENCY = 64
# Commit metadata of template_deployments: what the last complete deploy put everywhere.
FINGERPRINT_KEY = "templates.fingerprint"


@dataclass(frozen=True)
class Planned:
    template: Template
    library_template_id: str
    content_hash: str


@dataclass
class RetailerDeploy:
    retailer_id: str
    actions: dict[str, Action] = field(default_factory=dict)
    withheld: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    planned: dict[str, Planned] = field(default_factory=dict)


@dataclass
class DeployReport:
    retailers: list[RetailerDeploy]
    problems: list[TemplateProblem]
    seconds: float
    deploy_run_id: str
    validate_seconds: float = 0.0
    skipped: bool = False  # `if_changed` found everything as the last deploy left it

    def counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for retailer in self.retailers:
            counts.update(retailer.actions.values())
            counts["withheld"] += len(retailer.withheld)
        return counts

    @property
    def failed_retailers(self) -> list[RetailerDeploy]:
        return [r for r in self.retailers if r.errors]

    @property
    def ok(self) -> bool:
        return not self.failed_retailers and not self.problems

    def lines(self) -> list[str]:
        if self.skipped:
            return ["templates unchanged since the last complete deploy: no workspace contacted"]
        counts = self.counts()
        lines = [
            f"templates deployed to {len(self.retailers)} retailers in {self.seconds:.1f} s: "
            + ", ".join(
                f"{name} {counts[name]}"
                for name in ("created", "updated", "unchanged", "withheld", "failed")
            )
            + f"; failed retailers: {len(self.failed_retailers)}"
        ]
        lines += [f"  {r.retailer_id}: {'; '.join(r.errors)}" for r in self.failed_retailers]
        lines += [f"  {problem}" for problem in self.problems]
        return lines


def plan_deploy(
    conf: Conf,
    library: TemplateLibrary,
    problems: list[TemplateProblem],
    retailer_ids: Collection[str] | None = None,
) -> list[RetailerDeploy]:
    """Each retailer's branded templates, less those its validation problems withhold."""
    blocked = {(p.template_id, p.retailer_id) for p in problems if p.blocks_deploy}
    plans = []
    for retailer in conf.retailers.values():
        if retailer_ids is not None and retailer.retailer_id not in retailer_ids:
            continue
        plan = RetailerDeploy(retailer.retailer_id)
        brand = retailer_variables(conf, retailer)
        for spec in library.for_retailer(retailer):
            if spec.channel == "sms":
                continue  # the SMS provider stores no templates: its client renders them
            keys = (spec.template_id, f"layout:{spec.layout_name}")
            if any((key, who) in blocked for key in keys for who in (None, retailer.retailer_id)):
                plan.withheld.append(spec.deployed_id)
                continue
            template = deployable(library, spec, brand)
            plan.planned[template.template_id] = Planned(
                template, spec.template_id, content_hash(template)
            )
        plans.append(plan)
    return plans


def deploy_library(
    conf: Conf,
    library: TemplateLibrary,
    router: ProviderRouter,
    *,
    store: DeltaStore | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    retailer_ids: Collection[str] | None = None,
    if_changed: bool = False,
) -> DeployReport:
    """Validate, then deploy every retailer (or `retailer_ids`) concurrently; record
    what changed in `store`. With `if_changed`, nothing is contacted when the planned
    content equals what the last complete deploy recorded."""
    started = time.monotonic()
    problems = validate_library(conf, library)
    validated = time.monotonic()
    plans = plan_deploy(conf, library, problems, retailer_ids)
    fingerprint = deploy_fingerprint(plans, problems)
    recorded = store.newest_metadata(TEMPLATE_DEPLOYMENTS.name, FINGERPRINT_KEY) if store else None
    if if_changed and recorded == fingerprint:
        return DeployReport(plans, problems, 0.0, "", validated - started, skipped=True)
    asyncio.run(_deploy_all(conf, plans, router, concurrency))
    report = DeployReport(
        plans, problems, time.monotonic() - started, uuid.uuid4().hex, validated - started
    )
    if store is not None:
        # A complete deploy records what it left everywhere, unless that is recorded already.
        complete = report.ok and retailer_ids is None and fingerprint != recorded
        _record(store, report, {FINGERPRINT_KEY: fingerprint} if complete else None)
    return report


def deploy_fingerprint(plans: list[RetailerDeploy], problems: list[TemplateProblem]) -> str:
    """What a deploy would leave in every workspace: each retailer's template hashes."""
    digest = hashlib.sha256()
    for plan in sorted(plans, key=lambda p: p.retailer_id):
        for template_id, planned in sorted(plan.planned.items()):
            digest.update(f"{plan.retailer_id}|{template_id}|{planned.content_hash}\n".encode())
    digest.update(f"problems {len(problems)}".encode())
    return digest.hexdigest()


async def _deploy_all(
    conf: Conf, plans: list[RetailerDeploy], router: ProviderRouter, concurrency: int
) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(plan: RetailerDeploy) -> None:
        async with gate:
            retailer = conf.retailer(plan.retailer_id)
            lane = _Lane(router.async_for_retailer(plan.retailer_id), retailer)
            try:
                await _deploy_retailer(plan, lane)
            except ProviderError as error:
                plan.errors.append(str(error))
                log.error("template deploy to %s failed: %s", plan.retailer_id, error)

    try:
        await asyncio.gather(*(one(plan) for plan in plans if plan.planned))
    finally:
        await router.aclose()


@dataclass
class _Lane:
    """One workspace: its client, paced by its own limit, retried as the provider says."""

    client: AsyncBrazeClient
    retailer: RetailerConfig
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=5))

    def __post_init__(self) -> None:
        self.bucket = TokenBucket.for_retailer(self.retailer)

    async def call(self, request: Callable[[], Awaitable[T]]) -> T:
        attempt = 1
        while True:
            await self.bucket.acquire()
            try:
                return await request()
            except RetryableError as error:
                if attempt >= self.retry.max_attempts or self.retry.is_long_wait(error.retry_after):
                    raise
                if error.status == 429:
                    self.bucket.hold_off(error.retry_after or 1.0)
                else:
                    await asyncio.sleep(self.retry.delay(attempt, error.retry_after))
                attempt += 1


async def _deploy_retailer(plan: RetailerDeploy, lane: _Lane) -> None:
    channels = sorted({p.template.channel for p in plan.planned.values()})
    current: dict[str, str] = {}
    for channel in channels:
        listed = await lane.call(partial(lane.client.list_templates, channel))
        current.update({t.template_id: content_hash(t) for t in listed})
    for template_id, planned in sorted(plan.planned.items()):
        if current.get(template_id) == planned.content_hash:
            plan.actions[template_id] = "unchanged"
            continue
        action: Literal["create", "update"] = "update" if template_id in current else "create"
        try:
            await lane.call(partial(lane.client.write_template, planned.template, action=action))
        except PermanentError as error:
            plan.actions[template_id] = "failed"
            plan.errors.append(f"{template_id}: {error}")
            continue
        plan.actions[template_id] = "created" if action == "create" else "updated"


def _record(
    store: DeltaStore, report: DeployReport, metadata: dict[str, str] | None = None
) -> None:
    """One row per template written, in one commit: the workspace content history.

    `metadata` (a complete deploy's fingerprint) is committed even when nothing changed.
    """
    now = datetime.now(UTC)
    rows = [
        {
            "retailer_id": plan.retailer_id,
            "template_id": template_id,
            "channel": plan.planned[template_id].template.channel,
            "library_template_id": plan.planned[template_id].library_template_id,
            "content_hash": plan.planned[template_id].content_hash,
            "action": action,
            "deploy_run_id": report.deploy_run_id,
            "deployed_at": now,
        }
        for plan in report.retailers
        for template_id, action in sorted(plan.actions.items())
        if action in ("created", "updated")
    ]
    if rows or metadata:
        table = pa.Table.from_pylist(rows, schema=store.arrow_schema(TEMPLATE_DEPLOYMENTS.name))
        store.append(TEMPLATE_DEPLOYMENTS.name, table, metadata=metadata)
