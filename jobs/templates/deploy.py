"""Put each retailer's templates into its own workspace, through the provider abstraction."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from jobs.config import Conf
from jobs.providers import ProviderError, RetryableError, Template
from jobs.providers.braze import BrazeClient
from jobs.providers.routing import ProviderRouter
from jobs.templates.library import TemplateLibrary, TemplateSpec

log = logging.getLogger(__name__)


@dataclass
class DeployReport:
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())) or "nothing"
        return f"templates deployed: {counts}; failed retailers: {len(self.failures)}"


def provider_template(spec: TemplateSpec) -> Template:
    return Template(spec.template_id, spec.channel, dict(spec.fields))


def deploy_library(conf: Conf, library: TemplateLibrary, router: ProviderRouter) -> DeployReport:
    """Create or update every template a retailer receives; one failing workspace stops no one."""
    report = DeployReport()
    for retailer in conf.retailers.values():
        client = router.for_retailer(retailer.retailer_id)
        try:
            for spec in library.for_retailer(retailer):
                report.outcomes[_upsert(client, provider_template(spec))] += 1
        except ProviderError as error:
            report.failures[retailer.retailer_id] = str(error)
            log.error("template deploy to %s failed: %s", retailer.retailer_id, error)
    return report


def _upsert(client: BrazeClient, template: Template, *, attempts: int = 5) -> str:
    """Create or update, waiting out the workspace's rate limit (Retry-After) when it says so."""
    attempt = 1
    while True:
        try:
            return client.upsert_template(template)
        except RetryableError as error:
            if attempt == attempts:
                raise
            time.sleep(min(30.0, error.retry_after or 0.5 * 2**attempt))
            attempt += 1
