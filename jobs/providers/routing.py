"""Each retailer's messages go through its own workspace, with its own key, and no other.

The router is the only place that turns a retailer id into provider clients;
the key is read from the environment variable the retailer's configuration
names (on the local profile a missing one is generated once, as for every
secret, so the simulator and the clients agree without setup).
"""

from __future__ import annotations

from jobs.config import Conf, ConfigError, ConfigProblem, RetailerConfig
from jobs.config.secrets import secret_from_env
from jobs.providers.base import WorkspaceSpec
from jobs.providers.braze import AsyncBrazeClient, BrazeClient, BrazePlatformClient
from jobs.providers.wire import Workspace


def workspace_for(conf: Conf, retailer: RetailerConfig) -> Workspace:
    key = secret_from_env(
        retailer.workspace.api_key_env,
        conf.profile,
        purpose=f"API key of workspace '{retailer.workspace.workspace_id}'",
    )
    return Workspace(
        retailer_id=retailer.retailer_id,
        workspace_id=retailer.workspace.workspace_id,
        base_url=retailer.workspace.base_url,
        api_key=key.decode(),
        deduplicates=retailer.workspace.deduplicates,
    )


def platform_key(conf: Conf) -> str | None:
    """The provider platform API's key, when the platform has that API configured."""
    platform = conf.platform.provider_platform
    if platform is None:
        return None
    return secret_from_env(
        platform.api_key_env, conf.profile, purpose="provider platform API key"
    ).decode()


def platform_client(conf: Conf) -> BrazePlatformClient:
    """The account-level client that creates workspaces (retailer onboarding)."""
    key = platform_key(conf)
    if conf.platform.provider_platform is None or key is None:
        raise ConfigError(
            [
                ConfigProblem(
                    str(conf.root / "platform.yaml"),
                    "provider_platform",
                    "is not set: onboarding creates workspaces through the provider's platform "
                    "API; give its base_url and the api_key_env that holds its key",
                )
            ]
        )
    return BrazePlatformClient(conf.platform.provider_platform.base_url, key)


class ProviderRouter:
    """Clients per retailer, created on first use and reused (pooled connections)."""

    def __init__(self, conf: Conf, *, timeout: float = 10.0, max_in_flight: int = 8) -> None:
        self.conf = conf
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self._sync: dict[str, BrazeClient] = {}
        self._async: dict[str, AsyncBrazeClient] = {}

    def workspace(self, retailer_id: str) -> Workspace:
        return workspace_for(self.conf, self.conf.retailer(retailer_id))

    def for_retailer(self, retailer_id: str) -> BrazeClient:
        if retailer_id not in self._sync:
            self._sync[retailer_id] = BrazeClient(self.workspace(retailer_id), timeout=self.timeout)
        return self._sync[retailer_id]

    def async_for_retailer(self, retailer_id: str) -> AsyncBrazeClient:
        if retailer_id not in self._async:
            self._async[retailer_id] = AsyncBrazeClient(
                self.workspace(retailer_id), timeout=self.timeout, max_in_flight=self.max_in_flight
            )
        return self._async[retailer_id]

    def close(self) -> None:
        for client in self._sync.values():
            client.close()
        self._sync.clear()

    async def aclose(self) -> None:
        for client in self._async.values():
            await client.close()
        self._async.clear()


def workspace_spec(conf: Conf, retailer_id: str) -> WorkspaceSpec:
    """What provisioning sets on a retailer's workspace, all from its configuration."""
    retailer = conf.retailer(retailer_id)
    workspace = workspace_for(conf, retailer)
    return WorkspaceSpec(
        workspace_id=workspace.workspace_id,
        retailer_id=retailer_id,
        name=retailer.brand.name,
        sending_identity=retailer.sending_identity(conf.platform.sending_domain),
        ip_pool=retailer.ip_pool,
        api_key=workspace.api_key,
        requests_per_second=retailer.rate_limit.requests_per_second,
        burst=retailer.rate_limit.burst,
    )
