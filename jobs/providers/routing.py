"""Each retailer's messages go through its own workspace, with its own key, and no other.

Email and push go through the retailer's Braze-style workspace; texts through its own
account at a Twilio-style SMS provider (`sms` in its configuration). The router is the
only place that turns a retailer id and a channel into provider clients;
the key is read from the environment variable the retailer's configuration
names (on the local profile a missing one is generated once, as for every
secret, so the simulator and the clients agree without setup).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from jobs.config import Conf, ConfigError, ConfigProblem, RetailerConfig
from jobs.config.secrets import secret_from_env
from jobs.providers.base import Template, WorkspaceSpec
from jobs.providers.braze import AsyncBrazeClient, BrazeClient, BrazePlatformClient
from jobs.providers.pacing import RATE_SAFETY, RetryPolicy, TokenBucket
from jobs.providers.twilio import AsyncTwilioClient, TwilioClient
from jobs.providers.twilio_wire import SmsAccountRef
from jobs.providers.wire import Workspace

# A retailer's SMS templates, branded: the SMS client renders them (its provider stores
# none). The template layer builds them; the router only hands them on.
SmsTemplates = Callable[[RetailerConfig], Mapping[str, Template]]

# Where each channel goes: the retailer's SMS account, or its workspace.
SMS_ROUTE, WORKSPACE_ROUTE = "sms", "workspace"


def route_of(channel: str) -> str:
    return SMS_ROUTE if channel == "sms" else WORKSPACE_ROUTE


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


def sms_account_for(conf: Conf, retailer: RetailerConfig) -> SmsAccountRef:
    """The retailer's SMS account; a retailer without one has no sms channel (validated)."""
    account = retailer.sms
    if account is None:
        raise ConfigError(
            [
                ConfigProblem(
                    f"retailers/{retailer.retailer_id}.yaml",
                    "sms",
                    "is not set, but a text was about to be sent for this retailer; add its "
                    "SMS account or remove sms from its channels and campaigns",
                )
            ]
        )
    token = secret_from_env(
        account.auth_token_env,
        conf.profile,
        purpose=f"auth token of SMS account '{account.account_sid}'",
    )
    return SmsAccountRef(
        retailer_id=retailer.retailer_id,
        account_sid=account.account_sid,
        base_url=account.base_url,
        auth_token=token.decode(),
        sender=account.sender.number,
        messages_per_second=account.sender.rate,
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
    """Clients per retailer (and route), created on first use and reused (pooled
    connections). Texts need `sms_templates`: the SMS client renders them, refusing a
    text longer than `sms_segments`."""

    def __init__(
        self,
        conf: Conf,
        *,
        timeout: float = 10.0,
        max_in_flight: int = 8,
        sms_templates: SmsTemplates | None = None,
        sms_segments: int = 3,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.conf = conf
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self.sms_templates = sms_templates
        self.sms_segments = sms_segments
        self.policy = policy or RetryPolicy()
        self._sync: dict[str, BrazeClient] = {}
        self._async: dict[str, AsyncBrazeClient] = {}
        self._sms: dict[str, TwilioClient] = {}
        self._async_sms: dict[str, AsyncTwilioClient] = {}

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

    def sms_for_retailer(self, retailer_id: str) -> TwilioClient:
        """The retailer's SMS account, for its events (status callbacks, STOP replies)."""
        if retailer_id not in self._sms:
            account = sms_account_for(self.conf, self.conf.retailer(retailer_id))
            self._sms[retailer_id] = TwilioClient(account, timeout=self.timeout)
        return self._sms[retailer_id]

    def async_sms_for_retailer(self, retailer_id: str) -> AsyncTwilioClient:
        if retailer_id not in self._async_sms:
            if self.sms_templates is None:
                raise ValueError("texts are rendered by the client: give the router sms_templates")
            retailer = self.conf.retailer(retailer_id)
            account = sms_account_for(self.conf, retailer)
            self._async_sms[retailer_id] = AsyncTwilioClient(
                account,
                self.sms_templates(retailer),
                max_segments=self.sms_segments,
                # one text a token, one at a time: a sender's rate has no burst
                bucket=TokenBucket(account.messages_per_second * RATE_SAFETY, 1),
                policy=self.policy,
                timeout=self.timeout,
            )
        return self._async_sms[retailer_id]

    def close(self) -> None:
        for client in self._sync.values():
            client.close()
        for sms_client in self._sms.values():
            sms_client.close()
        self._sync.clear()
        self._sms.clear()

    async def aclose(self) -> None:
        for client in self._async.values():
            await client.close()
        for sms_client in self._async_sms.values():
            await sms_client.close()
        self._async.clear()
        self._async_sms.clear()


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
