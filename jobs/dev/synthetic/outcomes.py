"""Orders that follow a campaign, for the demo: customers deciding to buy.

In production these orders come from the retailer's shop. Here, as the
simulator stands in for the provider, this stands in for the customers.
Everyone in a campaign run may order within the conversion window, the
holdout too (that is what makes incrementality measurable). Receiving the
message, opening it, clicking it and having an offer each add to the chance,
and most buyers with an offer use its code. Every draw is a hash of the
(retailer, run, customer) key, so a rerun writes the same orders (and, being
keyed by order id, writes nothing twice).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from jobs.warehouse.store import DeltaStore

BASE_RATE = 0.03  # anyone in the run, holdout included
SENT_LIFT = 0.015
OPEN_LIFT = 0.04
CLICK_LIFT = 0.25
OFFER_LIFT = 0.03
REDEEM_SHARE = 0.7
FREE_DELIVERY_CENTS = 499
CATEGORIES = ("produce", "bakery", "dairy", "pantry", "household")


@dataclass
class Recipient:
    """One customer of one campaign run, over all its channels."""

    retailer_id: str
    run_id: str
    customer_id: str
    reference_at: datetime
    is_sent: bool = False
    is_opened: bool = False
    is_clicked: bool = False
    offer: dict[str, Any] | None = None
    messages: set[str] = field(default_factory=set)


def _draw(*keys: str) -> float:
    digest = hashlib.sha256("|".join(keys).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def outcome_orders(store: DeltaStore, *, window_days: int) -> pa.Table:
    """The orders of every campaign recipient (sent or holdout), as `orders` rows."""
    recipients = _recipients(store)
    rows = [row for r in recipients.values() if (row := _order(r, window_days)) is not None]
    return pa.Table.from_pylist(rows, schema=store.arrow_schema("orders"))


def write_outcome_orders(store: DeltaStore, *, window_days: int) -> int:
    """Append the outcome orders the table lacks; returns how many were new."""
    if store.find("message_sends") is None:
        return 0
    orders = outcome_orders(store, window_days=window_days)
    return store.insert_new("orders", orders, keys=("retailer_id", "order_id"))


def _recipients(store: DeltaStore) -> dict[tuple[str, str, str], Recipient]:
    columns = ["retailer_id", "message_id", "run_id", "customer_id", "status", "completed_at"]
    sends = store.read_arrow("message_sends", columns=columns).to_pylist()
    recipients: dict[tuple[str, str, str], Recipient] = {}
    by_message: dict[tuple[str, str], Recipient] = {}
    for send in sends:
        if send["status"] not in ("sent", "suppressed"):  # not reached yet: no outcome yet
            continue
        key = (send["retailer_id"], send["run_id"], send["customer_id"])
        recipient = recipients.setdefault(key, Recipient(*key, send["completed_at"]))
        recipient.reference_at = min(recipient.reference_at, send["completed_at"])
        recipient.is_sent |= send["status"] == "sent"
        by_message[(send["retailer_id"], send["message_id"])] = recipient
    for kind, rows in _engagement(store).items():
        for message in rows:
            if (engaged := by_message.get(message)) is not None:
                engaged.is_opened |= kind in ("opened", "clicked")
                engaged.is_clicked |= kind == "clicked"
    for offer in _offers(store):
        if (offered := by_message.get((offer["retailer_id"], offer["message_id"]))) is not None:
            offered.offer = offer
    return recipients


def _engagement(store: DeltaStore) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if store.find("delivery_events") is None:
        return found
    columns = ["retailer_id", "message_id", "event_type"]
    for event in store.read_arrow("delivery_events", columns=columns).to_pylist():
        found[event["event_type"]].append((event["retailer_id"], event["message_id"]))
    return found


def _offers(store: DeltaStore) -> list[dict[str, Any]]:
    columns = [
        "retailer_id",
        "message_id",
        "promo_code",
        "offer_kind",
        "offer_percent",
        "offer_amount_cents",
        "offer_min_basket_cents",
    ]
    events = store.read_arrow("campaign_events", columns=columns).to_pylist()
    return [e for e in events if e["promo_code"] is not None]


def _order(recipient: Recipient, window_days: int) -> dict[str, Any] | None:
    keys = (recipient.retailer_id, recipient.run_id, recipient.customer_id)
    chance = BASE_RATE
    chance += SENT_LIFT if recipient.is_sent else 0.0
    chance += OPEN_LIFT if recipient.is_opened and not recipient.is_clicked else 0.0
    chance += CLICK_LIFT if recipient.is_clicked else 0.0
    chance += OFFER_LIFT if recipient.is_sent and recipient.offer else 0.0
    if _draw(*keys, "orders") >= chance:
        return None
    soon = 2 * 24 if recipient.is_clicked else window_days * 24
    hours = 1 + _draw(*keys, "when") * (soon - 2)
    total = 1500 + int(_draw(*keys, "basket") * 9000)
    offer = recipient.offer if recipient.is_sent else None
    if offer is None or total < (offer["offer_min_basket_cents"] or 0):
        offer = None  # no offer, or a basket under its minimum: the code does not apply
    elif _draw(*keys, "redeem") >= REDEEM_SHARE:
        offer = None
    return {
        "retailer_id": recipient.retailer_id,
        "order_id": "po-" + hashlib.sha256("|".join(keys).encode()).hexdigest()[:20],
        "customer_id": recipient.customer_id,
        "ordered_at": recipient.reference_at + timedelta(hours=hours),
        "total_cents": total,
        "discount_cents": _discount(offer, total),
        "promo_code": offer["promo_code"] if offer else None,
        "category": CATEGORIES[int(_draw(*keys, "category") * len(CATEGORIES))],
        "item_count": 1 + int(_draw(*keys, "items") * 12),
    }


def _discount(offer: dict[str, Any] | None, total_cents: int) -> int:
    if offer is None:
        return 0
    if offer["offer_kind"] == "percent_off":
        return round(total_cents * offer["offer_percent"] / 100)
    if offer["offer_kind"] == "amount_off":
        return int(offer["offer_amount_cents"])
    return FREE_DELIVERY_CENTS
