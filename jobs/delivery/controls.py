"""Pause and resume: a control record per request in campaign_controls; the newest wins.

`campaigns pause <campaign>` appends a record; every send subtask re-reads the
table at most every `refresh_s` seconds (a cheap incremental log read), so a
pause takes effect within seconds even in the middle of a run. Paused messages
are recorded as paused and sent by the first run after `resume`.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Literal

import pyarrow as pa
from deltalake import DeltaTable

from jobs.config import Conf
from jobs.warehouse.registry import CAMPAIGN_CONTROLS
from jobs.warehouse.store import DeltaStore

Action = Literal["pause", "resume"]


def request_control(
    store: DeltaStore,
    conf: Conf,
    campaign_ids: str | Sequence[str],
    action: Action,
    *,
    note: str | None = None,
) -> int:
    """Record a pause or resume of configured campaigns, in one commit (a whole retailer's
    are paused together or not at all); returns the table version."""
    ids = [campaign_ids] if isinstance(campaign_ids, str) else list(campaign_ids)
    campaigns = [conf.campaign(campaign_id) for campaign_id in ids]
    now, user = datetime.now(UTC), getpass.getuser()
    rows = {
        "retailer_id": [campaign.retailer_id for campaign in campaigns],
        "campaign_id": ids,
        "action": [action] * len(ids),
        "requested_at": [now] * len(ids),
        "requested_by": [user] * len(ids),
        "note": [note] * len(ids),
    }
    return store.append(
        CAMPAIGN_CONTROLS.name, pa.table(rows), metadata={"control": f"campaign {action}"}
    )


def campaigns_of(conf: Conf, retailer_id: str) -> list[str]:
    """Every configured campaign of a retailer (an unknown retailer fails, naming them)."""
    conf.retailer(retailer_id)
    return sorted(
        c for c, campaign in conf.campaigns.items() if campaign.retailer_id == retailer_id
    )


def paused_campaigns(table: pa.Table) -> set[tuple[str, str]]:
    """(retailer, campaign) pairs whose newest control record is a pause."""
    newest: dict[tuple[str, str], tuple[datetime, str]] = {}
    for row in table.select(["retailer_id", "campaign_id", "requested_at", "action"]).to_pylist():
        key = (row["retailer_id"], row["campaign_id"])
        if key not in newest or row["requested_at"] >= newest[key][0]:
            newest[key] = (row["requested_at"], row["action"])
    return {key for key, (_, action) in newest.items() if action == "pause"}


class PauseWatcher:
    """The paused campaigns as of at most `refresh_s` ago, read from the Delta log."""

    def __init__(
        self,
        store: DeltaStore,
        *,
        refresh_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self._clock = clock
        self._table: DeltaTable | None = None
        self._checked = float("-inf")
        self._version = -1
        self._paused: set[tuple[str, str]] = set()

    def is_paused(self, retailer_id: str, campaign_id: str) -> bool:
        if self._clock() - self._checked >= self.refresh_s:
            self._refresh()
        return (retailer_id, campaign_id) in self._paused

    def _refresh(self) -> None:
        self._checked = self._clock()
        if self._table is None:
            self._table = self.store.find(CAMPAIGN_CONTROLS.name)
            if self._table is None:
                return
        else:
            self._table.update_incremental()
        if self._table.version() != self._version:
            self._version = self._table.version()
            self._paused = paused_campaigns(
                self.store.read_arrow(CAMPAIGN_CONTROLS.name, version=self._version)
            )
