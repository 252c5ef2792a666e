"""The anchor of `campaigns bench audience`: the launch's output computed by DuckDB.

The same Parquet files the engine read (the Delta snapshot's files), the same
rules: features (recency, frequency in the rule's window, lifetime value, the
favourite category of the last 365 days), the benchmark's winback rule, every
suppression reason in its order (consent, unsubscribes, hard bounces and
complaints, contact patterns, already messaged, then the frequency cap ranked
as the engine ranks it), the time zone, a variant per customer, offers and the
profile variables, one row per (run, customer, channel) with the engine's
message id. Two things stay the engine's own: the promo code's HMAC (a keyed
hash the reference does not need) and the variant's hash (Spark's xxhash64 has
no DuckDB twin: the reference uses DuckDB's hash with the same split, so variant
shares agree but not each customer's variant).

`compare` then checks the engine's rows against the reference's, column by
column, so the ratio is between two engines that produced the same events.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from jobs.audience.launch import KNOWN_TIME_ZONES, CampaignLaunch
from jobs.audience.suppression import CHANNEL_PRIORITY
from jobs.warehouse import Warehouse
from jobs.warehouse.registry import EMAIL_PATTERN, PHONE_PATTERN

# The values that must agree row by row (the variant's only in share): the address and
# zone columns, and these template variables (the reference computes them as columns).
COMPARED_VARIABLES = (
    "favourite_category",
    "days_since_last_order",
    "lifetime_orders",
    "first_name",
    "locale",
)
COMPARED = ("address", "time_zone", *COMPARED_VARIABLES)


@dataclass(frozen=True)
class Reference:
    seconds: float
    rows: int
    path: str


@dataclass(frozen=True)
class Comparison:
    engine_rows: int
    reference_rows: int
    only_engine: int
    only_reference: int
    differing: dict[str, int]
    engine_holdout_share: float
    reference_holdout_share: float

    @property
    def same(self) -> bool:
        return not (self.only_engine or self.only_reference or any(self.differing.values()))

    def line(self) -> str:
        verdict = "same rows" if self.same else "DIFFERENT"
        diffs = ", ".join(f"{c} {n}" for c, n in self.differing.items() if n) or "none"
        return (
            f"engine vs DuckDB: {verdict}: {self.engine_rows:,} vs {self.reference_rows:,} rows, "
            f"only in engine {self.only_engine}, only in DuckDB {self.only_reference}, "
            f"values differing: {diffs}; holdout share {self.engine_holdout_share:.2%} vs "
            f"{self.reference_holdout_share:.2%}"
        )


class DuckDbReference:
    """One DuckDB connection on 2 threads with the launches as small tables."""

    def __init__(self, warehouse: Warehouse, launches: Sequence[CampaignLaunch]) -> None:
        self._warehouse = warehouse
        self._dir = tempfile.mkdtemp(prefix="campaigns-duckdb-")
        self._db = duckdb.connect()
        self._db.execute("set threads to 2")
        self._db.execute("set TimeZone = 'UTC'")
        self._db.execute(
            "create table launches (retailer_id varchar, campaign_id varchar, run_id varchar, "
            "frequency_max int, frequency_window_days int, retailer_time_zone varchar, "
            "holdout_share double, offer_percent double, offer_min_basket_cents bigint)"
        )
        self._db.executemany(
            "insert into launches values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_launch_row(lo) for lo in launches],
        )
        self._db.execute(
            "create table launch_channels (retailer_id varchar, channel varchar, position int)"
        )
        self._db.executemany(
            "insert into launch_channels values (?, ?, ?)",
            [
                (lo.retailer.retailer_id, channel, position)
                for lo in launches
                for position, channel in enumerate(lo.campaign.channels, start=1)
            ],
        )
        self._db.execute("create table known_zones (name varchar)")
        self._db.executemany(
            "insert into known_zones values (?)",
            [(zone,) for zone in KNOWN_TIME_ZONES],
        )

    def close(self) -> None:
        self._db.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def run(self, retailer_ids: Sequence[str], as_of: datetime, label: str) -> Reference:
        """The reference events of `retailer_ids` (timed: reading, computing, writing)."""
        path = f"{self._dir}/{label}.parquet"
        history = self._files("campaign_events")
        parameters = {
            **{name: self._files(name) for name in ("customers", "orders", "consents")},
            **({"history": history} if history else {}),
            "retailers": list(retailer_ids),
            "as_of": as_of.replace(tzinfo=None),
        }
        sql = _SQL.format(out=path, history=_HISTORY if history else _NO_HISTORY)
        started = time.perf_counter()
        self._db.execute(sql, parameters)
        seconds = time.perf_counter() - started
        rows = self._db.execute(f"select count(*) from '{path}'").fetchone()
        return Reference(seconds, int(rows[0]) if rows else 0, path)

    def compare(self, reference: Reference) -> Comparison:
        """The engine's campaign_events (as last written) against the reference's rows."""
        engine = ", ".join("'" + f.replace("'", "''") + "'" for f in self._files("campaign_events"))
        variables = ", ".join(f"variables['{name}'] as {name}" for name in COMPARED_VARIABLES)
        self._db.execute(
            f"create or replace temp view engine as select *, {variables} "
            f"from read_parquet([{engine}], hive_partitioning = true, union_by_name = true)"
        )
        self._db.execute(
            f"create or replace temp view reference as select * from '{reference.path}'"
        )
        differing_sql = ", ".join(
            f"count(*) filter (where e.{c} is distinct from r.{c})" for c in COMPARED
        )
        counts = self._db.execute(
            f"""select (select count(*) from engine), (select count(*) from reference),
                (select count(*) from engine anti join reference using (message_id)),
                (select count(*) from reference anti join engine using (message_id)),
                (select avg(is_holdout::int) from engine),
                (select avg(is_holdout::int) from reference),
                {differing_sql}
            from engine e join reference r using (message_id)"""
        ).fetchone()
        assert counts is not None
        return Comparison(
            engine_rows=counts[0],
            reference_rows=counts[1],
            only_engine=counts[2],
            only_reference=counts[3],
            engine_holdout_share=counts[4] or 0.0,
            reference_holdout_share=counts[5] or 0.0,
            differing=dict(zip(COMPARED, counts[6:], strict=True)),
        )

    def _files(self, name: str) -> list[str]:
        """The table's current data files; none for a table not written yet."""
        if not self._warehouse.exists(name):
            return []
        return list(self._warehouse.delta_table(name).file_uris())


def _launch_row(launch: CampaignLaunch) -> tuple[object, ...]:
    offer = next((v.offer for v in launch.campaign.variants if v.offer is not None), None)
    return (
        launch.retailer.retailer_id,
        launch.campaign.campaign_id,
        launch.run_id,
        launch.retailer.frequency_cap.max_messages,
        launch.retailer.frequency_cap.window_days,
        launch.retailer.timezone,
        launch.campaign.holdout_share,
        getattr(offer, "percent", None),
        getattr(offer, "min_basket_cents", None),
    )


_HISTORY = "select * from read_parquet($history, hive_partitioning = true, union_by_name = true)"
_NO_HISTORY = (
    "select null::varchar as retailer_id, null::varchar as run_id, "
    "null::varchar as customer_id, "
    "null::varchar as campaign_id, null::varchar as channel, null::boolean as is_holdout, "
    "null::timestamptz as created_at where false"
)
_PRIORITY = " ".join(f"when '{c}' then {p}" for c, p in CHANNEL_PRIORITY.items())
_SQL = (
    """
copy (
with orders as (
    select retailer_id, customer_id, ordered_at, total_cents, category
    from read_parquet($orders, hive_partitioning = true)
    where retailer_id in (select unnest($retailers)) and ordered_at < $as_of
),
order_features as (
    select retailer_id, customer_id,
           max(ordered_at) as last_order_at,
           count(*) as lifetime_orders,
           sum(total_cents) as lifetime_spend_cents,
           count(*) filter (where ordered_at >= $as_of - interval 365 day) as order_count_365d
    from orders group by all
),
category_counts as (
    select retailer_id, customer_id, category, count(*) as n
    from orders
    where ordered_at >= $as_of - interval 365 day and category is not null
    group by all
),
favourite as (
    select retailer_id, customer_id, arg_min(category, (-n, category)) as favourite_category
    from category_counts group by all
),
customers as (
    select * from read_parquet($customers, hive_partitioning = true)
    where retailer_id in (select unnest($retailers)) and signup_at <= $as_of
),
audience as (
    select c.*, f.lifetime_orders, f.lifetime_spend_cents,
           date_diff('day', f.last_order_at::date, $as_of::date) as days_since_last_order,
           fav.favourite_category, l.campaign_id, l.run_id, l.frequency_max,
           l.frequency_window_days, l.holdout_share, l.offer_percent,
           l.offer_min_basket_cents,
           case when c.time_zone in (select name from known_zones) then c.time_zone
                else l.retailer_time_zone end as resolved_time_zone
    from customers as c
    join order_features as f using (retailer_id, customer_id)
    left join favourite as fav using (retailer_id, customer_id)
    join launches as l using (retailer_id)
    where date_diff('day', f.last_order_at::date, $as_of::date) >= 30
      and f.order_count_365d >= 2
),
candidates as (
    select a.*, lc.channel, lc.position = 1 as is_first_channel,
           case lc.channel when 'email' then a.email when 'push' then a.push_token
                           when 'sms' then a.phone end as address
    from audience as a join launch_channels as lc using (retailer_id)
),
history as (  -- earlier runs only: the launched runs are never their own history
    select * from ({history}) where run_id not in (select run_id from launches)
),
reasons as (
    select cand.*,
           case when cons.unsubscribed_at is not null then 'unsubscribed'
                when not coalesce(cons.is_opted_in, false) then 'no_consent'
                when cand.channel = 'email'
                     and not coalesce(regexp_matches(cand.address, '"""
    + EMAIL_PATTERN.replace("'", "''").replace("{", "{{").replace("}", "}}")
    + """'), false) then 'invalid_contact'
                when cand.channel = 'sms'
                     and not coalesce(regexp_matches(cand.address, '"""
    + PHONE_PATTERN.replace("'", "''").replace("{", "{{").replace("}", "}}")
    + """'), false) then 'invalid_contact'
                when cand.address is null then 'invalid_contact'
                when messaged.customer_id is not null then 'already_messaged'
           end as reason
    from candidates as cand
    left join read_parquet($consents, hive_partitioning = true) as cons
        using (retailer_id, customer_id, channel)
    left join (select distinct retailer_id, customer_id, campaign_id, channel from history)
        as messaged using (retailer_id, customer_id, campaign_id, channel)
),
prior as (
    select h.retailer_id, h.customer_id, count(*) as prior_messages
    from history as h join launches as l using (retailer_id)
    where not h.is_holdout
      and h.created_at >= $as_of - to_days(l.frequency_window_days)
    group by all
),
capped as (
    select r.*,
           coalesce(p.prior_messages, 0) + row_number() over (
               partition by r.retailer_id, r.customer_id
               order by r.reason is not null, r.campaign_id,
                        case r.channel """
    + _PRIORITY
    + """ else 4 end
           ) > r.frequency_max as over_cap
    from reasons as r left join prior as p using (retailer_id, customer_id)
),
eligible as (
    select *, hash(retailer_id, customer_id, campaign_id) % 1000000 / 1000000.0 as bucket
    from capped where reason is null and not over_cap
)
select retailer_id, run_id, campaign_id,
       sha256(concat_ws('|', run_id, retailer_id, customer_id, channel))[1:32] as message_id,
       customer_id, channel, address,
       bucket < holdout_share as is_holdout,
       case when bucket < holdout_share then 'holdout'
            when bucket < holdout_share + (1 - holdout_share) / 2 then 'control'
            else 'offer' end as variant_id,
       case when bucket >= holdout_share + (1 - holdout_share) / 2 then offer_percent end
           as offer_percent,
       case when bucket >= holdout_share + (1 - holdout_share) / 2
            then offer_min_basket_cents end as offer_min_basket_cents,
       resolved_time_zone as time_zone, first_name, locale, favourite_category,
       days_since_last_order::varchar as days_since_last_order,
       lifetime_orders::varchar as lifetime_orders
from eligible
) to '{out}' (format parquet)
"""
)
