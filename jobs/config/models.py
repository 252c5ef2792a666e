"""Typed models of everything a retailer or a campaign may vary.

The engine is shared by every retailer; what differs between them is data,
validated here once so that the jobs can trust it.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from jobs.config.cron import cron_problem

# Ids name files, table rows and URL paths: lower case, digits, '-' and '_' only.
IDENTIFIER_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]
Channel = Literal["email", "push", "sms"]
HexColor = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")]
EnvVarName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]


def _known_time_zone(name: str) -> str:
    """An IANA zone (Europe/London): launch dates, caps and quiet hours are local to it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"'{name}' is not an IANA time zone; use a name such as 'America/New_York' "
            "or 'Europe/London' (the list: python -c 'import zoneinfo; "
            "print(sorted(zoneinfo.available_timezones()))')"
        ) from None
    return name


TimeZone = Annotated[str, AfterValidator(_known_time_zone)]


class StrictModel(BaseModel):
    """Unknown keys are errors: a misspelt option must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Brand(StrictModel):
    name: str = Field(min_length=1)
    logo_url: str = Field(pattern=r"^https?://")
    primary_color: HexColor
    secondary_color: HexColor


class Workspace(StrictModel):
    """A retailer's own provider workspace; the API key stays in the environment."""

    provider: Literal["braze"] = "braze"
    workspace_id: Identifier
    base_url: str = Field(pattern=r"^https?://")
    api_key_env: EnvVarName
    # Whether the provider drops a repeated message id (an idempotency key). Braze does
    # not (a repeat is a second email): delivery then resolves every send it is unsure
    # of from the provider's export before sending again. True only for a provider that
    # honours the key (Resend, Brevo, OneSignal) or `provider-sim --idempotency on`.
    deduplicates: bool = False


# A number in E.164: '+', a country code that does not start with 0, at most 15 digits.
# The data-quality gate measures customers' phones against it and suppression records
# any other as `invalid_contact`, so a number without its country code is never guessed.
E164_PATTERN = r"^\+[1-9][0-9]{7,14}$"
SenderKind = Literal["long_code", "toll_free", "short_code"]
# What carriers let each kind of sender number send, in messages per second (US).
SENDER_MAX_RATE: dict[SenderKind, float] = {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0}


class SmsSender(StrictModel):
    """The number a retailer's texts come from; carriers limit each kind's rate."""

    number: str = Field(pattern=r"^(\+[1-9][0-9]{7,14}|[0-9]{5,6})$")
    kind: SenderKind = "long_code"
    # None: the carrier's limit for the kind (1 for a long code, 100 for a short code).
    messages_per_second: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _within_carrier_limit(self) -> SmsSender:
        ceiling = SENDER_MAX_RATE[self.kind]
        if self.messages_per_second is not None and self.messages_per_second > ceiling:
            raise ValueError(
                f"messages_per_second {self.messages_per_second:g} is above what carriers "
                f"allow a {self.kind} ({ceiling:g}/s); lower it or use a sender of another "
                f"kind ({', '.join(f'{k} {v:g}/s' for k, v in SENDER_MAX_RATE.items())})"
            )
        is_short = not self.number.startswith("+")
        if is_short != (self.kind == "short_code"):
            raise ValueError(
                f"number '{self.number}' does not fit kind '{self.kind}': a short code is 5 or 6 "
                "digits, a long code or toll-free number is E.164 (+15551234567)"
            )
        return self

    @property
    def rate(self) -> float:
        return self.messages_per_second or SENDER_MAX_RATE[self.kind]


class SmsAccount(StrictModel):
    """A retailer's own account at a Twilio-style SMS provider (one message a request, no
    idempotency key); its auth token stays in the environment."""

    provider: Literal["twilio"] = "twilio"
    account_sid: Annotated[str, Field(pattern=r"^AC[A-Za-z0-9_-]{2,62}$")]
    base_url: str = Field(pattern=r"^https?://")
    auth_token_env: EnvVarName
    sender: SmsSender


class QuietHours(StrictModel):
    """A daily window, in the customer's local time, in which nothing of a channel is
    sent; it may run over midnight (start 21:00, end 08:00)."""

    start: time
    end: time

    @model_validator(mode="after")
    def _a_window(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError(
                f"start and end are both {self.start:%H:%M}: give a window, e.g. start "
                "'21:00', end '08:00', or leave the channel out to send at any hour"
            )
        return self

    def covers(self, other: QuietHours) -> bool:
        """Whether every minute of `other` is quiet here too (both may wrap midnight)."""
        return all(self.is_quiet(t) for t in _minutes(other))

    def is_quiet(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


def _minutes(window: QuietHours) -> list[time]:
    """Every whole minute of a window, as local times."""
    first = window.start.hour * 60 + window.start.minute
    last = window.end.hour * 60 + window.end.minute
    span = (last - first) % (24 * 60)
    return [time(((first + m) // 60) % 24, (first + m) % 60) for m in range(span)]


# Texts go out between 8:00 and 21:00 in the recipient's time (TCPA and most carriers'
# codes): whatever a retailer configures for sms must cover at least this.
SMS_QUIET_HOURS = QuietHours(start=time(21, 0), end=time(8, 0))


class RateLimit(StrictModel):
    requests_per_second: float = Field(gt=0)
    burst: int = Field(ge=1)


class FrequencyCap(StrictModel):
    """At most `max_messages` marketing messages per customer in a rolling window."""

    max_messages: int = Field(ge=1)
    window_days: int = Field(ge=1, le=365)


class RetailerConfig(StrictModel):
    retailer_id: Identifier
    slug: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{0,40}$")]
    brand: Brand
    postal_address: str = Field(min_length=5)
    timezone: TimeZone
    default_locale: str = Field(default="en-US", pattern=r"^[a-z]{2}-[A-Z]{2}$")
    channels: list[Channel] = Field(min_length=1)
    workspace: Workspace
    rate_limit: RateLimit
    ip_pool: Identifier
    frequency_cap: FrequencyCap = FrequencyCap(max_messages=3, window_days=7)
    # Email a day the retailer may send whatever its pool's warming allows (the lower
    # of the two applies); none means only the warming plan caps it.
    daily_cap: int | None = Field(default=None, ge=1)
    # Texts go through their own provider account; required when channels has sms.
    sms: SmsAccount | None = None
    # Per channel, the local hours nothing is sent (the customer's zone, else `timezone`);
    # a message due then is deferred until the window ends. sms: 21:00-08:00 at least.
    quiet_hours: dict[Channel, QuietHours] = Field(default_factory=dict)

    @field_validator("quiet_hours")
    @classmethod
    def _sms_keeps_the_legal_hours(cls, value: dict[str, QuietHours]) -> dict[str, QuietHours]:
        sms = value.get("sms")
        if sms is not None and not sms.covers(SMS_QUIET_HOURS):
            raise ValueError(
                f"sms quiet hours {sms.start:%H:%M}-{sms.end:%H:%M} would text customers "
                "between 21:00 and 08:00 their time, which the law forbids; make them cover "
                "start '21:00', end '08:00' (or leave sms out: that window applies anyway)"
            )
        return value

    def quiet_hours_for(self, channel: str) -> QuietHours | None:
        """The window a channel keeps; texts keep the legal one even when none is set."""
        configured = self.quiet_hours.get(channel)  # type: ignore[call-overload]
        if channel == "sms":
            return configured or SMS_QUIET_HOURS
        return configured

    @model_validator(mode="after")
    def _sms_has_an_account(self) -> RetailerConfig:
        if "sms" in self.channels and self.sms is None:
            raise ValueError(
                "channels has sms but no sms account is configured: add an 'sms' block "
                "(provider, account_sid, base_url, auth_token_env, sender) or remove sms"
            )
        return self

    def sending_identity(self, sending_domain: str) -> str:
        """Every retailer sends as `<slug>@<shared domain>` so reputation stays per brand."""
        return f"{self.slug}@{sending_domain}"


class Range(StrictModel):
    """An inclusive bound; at least one side must be given."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _has_a_bound(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give at least one of min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class DaysSinceSignup(Range):
    rule: Literal["days_since_signup"]


class DaysSinceLastOrder(Range):
    rule: Literal["days_since_last_order"]
    include_never_ordered: bool = False


class OrderCount(Range):
    rule: Literal["order_count"]
    window_days: int = Field(default=365, ge=1)


class SpendCents(Range):
    rule: Literal["spend_cents"]
    window_days: int = Field(default=365, ge=1)


class CategoryBought(StrictModel):
    rule: Literal["category_bought"]
    categories: list[str] = Field(min_length=1)
    window_days: int = Field(default=365, ge=1)


class LocaleIn(StrictModel):
    rule: Literal["locale"]
    locales: list[str] = Field(min_length=1)


AudienceCondition = Annotated[
    DaysSinceSignup | DaysSinceLastOrder | OrderCount | SpendCents | CategoryBought | LocaleIn,
    Field(discriminator="rule"),
]


class OfferTier(StrictModel):
    """A richer offer for more valuable customers (lifetime spend at the retailer)."""

    min_customer_value_cents: int = Field(ge=0)
    percent: float | None = Field(default=None, gt=0, le=90)
    amount_cents: int | None = Field(default=None, gt=0)


class OfferRule(StrictModel):
    kind: Literal["percent_off", "amount_off", "free_delivery"]
    percent: float | None = Field(default=None, gt=0, le=90)
    amount_cents: int | None = Field(default=None, gt=0)
    min_basket_cents: int = Field(default=0, ge=0)
    expires_after_days: int = Field(default=14, ge=1, le=365)
    tiers: list[OfferTier] = Field(default_factory=list)

    @model_validator(mode="after")
    def _value_matches_kind(self) -> OfferRule:
        needed = {"percent_off": "percent", "amount_off": "amount_cents"}.get(self.kind)
        if needed and getattr(self, needed) is None:
            raise ValueError(f"an offer of kind '{self.kind}' needs '{needed}'")
        return self


class Variant(StrictModel):
    variant_id: Identifier
    weight: float = Field(default=1.0, gt=0)
    offer: OfferRule | None = None
    templates: dict[Channel, Identifier] = Field(default_factory=dict)
    variables: dict[str, str] = Field(default_factory=dict)


_DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400}


def _duration_seconds(text: str) -> int:
    """'30m', '4h' or '1d' in seconds: how long a campaign waits between its waves."""
    value, unit = text[:-1], text[-1:]
    if unit not in _DURATION_UNITS or not value.isdigit() or int(value) == 0:
        raise ValueError(f"'{text}' is not a duration; write a whole number and m, h or d: '4h'")
    return int(value) * _DURATION_UNITS[unit]


class StopRule(StrictModel):
    """When an adaptive campaign stops exploring: at `confidence` that no variant beats the
    leader by more than `min_improvement` of the leader's rate (relative: 0.01 is 1 %), the
    rest of the audience gets the leader (the "value remaining" rule of Scott 2015, which
    Braze's Intelligent Selection and Google's content experiments used)."""

    confidence: float = Field(default=0.95, ge=0.5, lt=1)
    min_improvement: float = Field(default=0.01, gt=0, lt=1)


class SendTime(StrictModel):
    """When each message goes out: at once, or at the hour its customer engages most,
    within `window_hours` after the launch (jobs/audience/send_time.py)."""

    mode: Literal["immediate", "optimized"] = "immediate"
    window_hours: int = Field(default=24, ge=1, le=72)

    @property
    def is_optimized(self) -> bool:
        return self.mode == "optimized"


class Allocation(StrictModel):
    """How a campaign's audience is split between its variants.

    `fixed`: by the variants' weights, once per run. `adaptive`: in `waves` sends
    `wave_interval` apart; the first explores an even split over `exploration_share`
    of the audience, each later one is weighted by Thompson sampling on `metric` as
    engagement comes in (jobs/allocation). The holdout is never adapted.
    """

    mode: Literal["fixed", "adaptive"] = "fixed"
    metric: Literal["click", "open", "conversion"] = "click"
    waves: int = Field(default=4, ge=2, le=24)
    exploration_share: float = Field(default=0.2, gt=0, lt=1)
    wave_interval: str = "4h"
    stop: StopRule = StopRule()

    @field_validator("wave_interval")
    @classmethod
    def _is_duration(cls, value: str) -> str:
        _duration_seconds(value)
        return value

    @property
    def is_adaptive(self) -> bool:
        return self.mode == "adaptive"

    @property
    def wave_interval_seconds(self) -> int:
        return _duration_seconds(self.wave_interval)

    def wave_bounds(self, wave: int) -> tuple[float, float]:
        """The slice [low, high) of the unit interval whose customers make up `wave`: the
        first takes `exploration_share`, the later ones split the rest evenly."""
        if not 1 <= wave <= self.waves:
            raise ValueError(f"wave {wave} is not one of 1..{self.waves}")
        if wave == 1:
            return 0.0, self.exploration_share

        def edge(k: int) -> float:  # one formula for both sides: slices never overlap
            return self.exploration_share + k * (1 - self.exploration_share) / (self.waves - 1)

        return edge(wave - 2), 1.0 if wave == self.waves else edge(wave - 1)


class Schedule(StrictModel):
    """When Airflow launches the campaign: once at a time, or on a cron."""

    kind: Literal["once", "cron"] = "once"
    start_at: str | None = None
    cron: str | None = None

    @model_validator(mode="after")
    def _cron_when_recurring(self) -> Schedule:
        if self.kind == "cron" and not self.cron:
            raise ValueError("a schedule of kind 'cron' needs 'cron'")
        if self.kind == "once" and self.cron:
            raise ValueError("'cron' is only read when kind is 'cron'; set kind: cron")
        problem = cron_problem(self.cron) if self.cron else None
        if problem:
            raise ValueError(problem)
        if self.start_at is not None:
            _iso_datetime(self.start_at)
        return self


def _iso_datetime(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"start_at '{text}' is not an ISO date-time; write it as 2026-12-01T09:00:00+00:00"
        ) from None


# The variant id of a campaign's holdout: recorded (is_holdout) and never sent, so no
# configured variant may take it.
HOLDOUT_VARIANT = "holdout"


class CampaignConfig(StrictModel):
    campaign_id: Identifier
    retailer_id: Identifier
    type: Literal["onboarding", "winback", "promotional"]
    channels: list[Channel] = Field(min_length=1)
    audience: list[AudienceCondition] = Field(default_factory=list)
    variants: list[Variant] = Field(min_length=1)
    holdout_share: float = Field(default=0.0, ge=0, lt=1)
    templates: dict[Channel, Identifier]
    variables: dict[str, str] = Field(default_factory=dict)
    schedule: Schedule = Schedule()
    allocation: Allocation = Allocation()
    send_time: SendTime = SendTime()

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule_is_a_block(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError(
                f"schedule '{value}' is a sentence; write a block: "
                "{kind: cron, cron: '0 9 * * MON'} or {kind: once, start_at: '2026-12-01T09:00:00'}"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CampaignConfig:
        ids = [variant.variant_id for variant in self.variants]
        if len(set(ids)) != len(ids):
            raise ValueError(f"variant ids must be unique, got {ids}")
        if HOLDOUT_VARIANT in ids:
            raise ValueError(
                f"variant id '{HOLDOUT_VARIANT}' is reserved for the holdout (holdout_share); "
                "rename the variant"
            )
        missing = [channel for channel in self.channels if channel not in self.templates]
        if missing:
            raise ValueError(f"no template given for channel(s) {missing} in 'templates'")
        return self

    @field_validator("allocation")
    @classmethod
    def _adaptive_is_possible(cls, allocation: Allocation, info: ValidationInfo) -> Allocation:
        variants: list[Variant] = info.data.get("variants") or []
        if not allocation.is_adaptive or not variants:
            return allocation
        if len(variants) < 2:
            raise ValueError(
                "allocation mode 'adaptive' chooses between variants, and this campaign has "
                "one: add a variant or use mode 'fixed'"
            )
        weighted = [v.variant_id for v in variants if v.weight != 1]
        if weighted:
            raise ValueError(
                f"variants {weighted} set a weight, but under allocation mode 'adaptive' the "
                "waves decide the weights: remove 'weight' (or use mode 'fixed')"
            )
        return allocation


class SparkSettings(StrictModel):
    """How Spark jobs run. `master` is the default when the launcher names none."""

    master: str | None = "local[2]"
    shuffle_partitions: int = Field(default=4, ge=1)
    driver_memory: str = "4g"
    # `fetch`: the project fetches the Delta jars (and S3A's, for a warehouse on object
    # storage) once and hands them to Spark (jobs/warehouse/jars.py); `provided`: the
    # platform has them (Databricks, an image).
    warehouse_jars: Literal["fetch", "provided"] = "fetch"
    # The driver's UI serves its own and its executors' metrics for Prometheus
    # (/metrics/prometheus and /metrics/executors/prometheus); off: no UI at all.
    prometheus: bool = False
    conf: dict[str, str] = Field(default_factory=dict)


class FlinkSettings(StrictModel):
    """How the delivery job runs: mini cluster locally, `flink run -py` on a cluster."""

    parallelism: int = Field(default=2, ge=1)
    # Batches awaiting the provider per send subtask (Flink async I/O capacity).
    async_capacity: int = Field(default=1000, ge=1)
    # Requests open at once per retailer workspace.
    max_in_flight_per_workspace: int = Field(default=8, ge=1)
    # Flink's own job metrics (records, back pressure, busy time) for Prometheus on this
    # port while a local job runs; a cluster configures its reporter in its config.yaml.
    prometheus_port: int | None = Field(default=None, ge=1, le=65535)
    conf: dict[str, str] = Field(default_factory=dict)


class DeliverySettings(StrictModel):
    """How deliveries share a warehouse: one at a time, under a lease."""

    # A holder that died loses the lease this long after its last renewal; a live one
    # renews every third of it.
    lease_ttl_seconds: float = Field(default=30.0, ge=3, le=600)
    # A send in doubt counts as not sent once the provider's export is complete this
    # long past its claim without a send event: longer than a request can take.
    in_doubt_grace_seconds: float = Field(default=60.0, ge=1, le=3600)


class Profile(StrictModel):
    """Where tables live and how engines run: `local` on one machine, `cluster` beyond."""

    name: Identifier
    warehouse_uri: str = Field(min_length=1)
    storage_options_env: dict[str, EnvVarName] = Field(default_factory=dict)
    spark: SparkSettings = SparkSettings()
    flink: FlinkSettings = FlinkSettings()
    delivery: DeliverySettings = DeliverySettings()
    # Local only: where a missing secret is generated once and kept (never in git).
    dev_secrets_dir: str | None = None


class AttributionWindows(StrictModel):
    """Hours after a touch in which an order counts for it; the most recent touch wins."""

    click_hours: int = Field(default=168, ge=1, le=2160)  # 7 days
    open_hours: int = Field(default=72, ge=1, le=2160)  # 3 days
    send_hours: int = Field(default=24, ge=1, le=2160)  # 1 day


def _default_costs() -> dict[Channel, int]:
    return {"email": 80, "push": 10, "sms": 790}


class ReportingSettings(StrictModel):
    """How results are measured and what sending costs (README: Results)."""

    attribution: AttributionWindows = AttributionWindows()
    # Incrementality: orders within this many days of the send, treatment against holdout.
    conversion_window_days: int = Field(default=7, ge=1, le=90)
    # What the provider charges per thousand messages, in cents, by channel; for sms per
    # thousand segments (a long text is billed as each of its segments).
    cost_per_thousand_cents: dict[Channel, int] = Field(default_factory=_default_costs)
    # An experiment arm smaller than this is flagged as too small to call.
    min_recipients_per_arm: int = Field(default=100, ge=1)
    min_conversions_per_arm: int = Field(default=10, ge=0)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)


class WarmingPlan(StrictModel):
    """A pool's daily email volume, from a small start up to its capacity over the ramp.

    Mailbox providers judge a new IP by its first weeks: volume grows geometrically
    from `start_daily_volume` to the pool's `daily_capacity` in `ramp_days` good days.
    """

    start_daily_volume: int = Field(ge=50, le=1000)
    ramp_days: int = Field(default=35, ge=28, le=42)  # 4 to 6 weeks


class IpPool(StrictModel):
    """Sending IPs shared by the retailers that name them; warm, or warming by a plan."""

    # Email the pool's IPs can send a day once warm (IPs x what each may send).
    daily_capacity: int = Field(ge=1000)
    # None: the pool is warm and only its capacity limits it.
    warming: WarmingPlan | None = None


class HoldWhen(StrictModel):
    """Yesterday's deliverability that stops a ramp (README: IP warming)."""

    delivery_rate_at_most: float = Field(default=0.90, gt=0, lt=1)
    bounce_rate_above: float = Field(default=0.05, gt=0, lt=1)
    complaint_rate_above: float = Field(default=0.001, gt=0, lt=1)


class WarmingSettings(StrictModel):
    hold_when: HoldWhen = HoldWhen()
    # A bad day holds the cap; this many bad days in a row step the ramp back.
    back_off_after_bad_days: int = Field(default=2, ge=1)
    back_off_steps: int = Field(default=3, ge=1)
    # A ramp advances only on a day that used this share of its cap: reputation is
    # earned by volume sent, so an unused cap is not raised.
    advance_when_used_share: float = Field(default=0.5, ge=0, le=1)
    # A pool whose sends reach this share of its capacity raises a capacity alert.
    capacity_alert_share: float = Field(default=0.8, gt=0, le=1)


class ProviderPlatform(StrictModel):
    """The provider's account-level API, which creates workspaces (retailer onboarding)."""

    base_url: str = Field(pattern=r"^https?://")
    api_key_env: EnvVarName


class PlatformConfig(StrictModel):
    """Settings shared by every retailer on the platform."""

    sending_domain: str = Field(pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")
    promo_code_secret_env: EnvVarName = "CAMPAIGNS_PROMO_SECRET"
    reporting: ReportingSettings = ReportingSettings()
    ip_pools: dict[Identifier, IpPool] = Field(default_factory=dict)
    warming: WarmingSettings = WarmingSettings()
    provider_platform: ProviderPlatform | None = None
