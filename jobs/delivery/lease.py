"""One delivery at a time per warehouse: a lease with a fencing token.

The lease lives in the warehouse's own storage (the `delivery_lease` Delta table), so
it holds wherever the warehouse is: a laptop, a cluster, object storage. Each change
is committed as exactly the next table version, and Delta commits are put-if-absent,
so of two deliveries starting at once exactly one gets the lease; the other is
refused (`DeliveryBusyError`) or waits for it. A holder renews it while it runs; a
holder that died stops renewing, and its lease expires after `ttl_s`. Every new
holder gets a larger `token`: a holder checks its token is still current before each
commit and before each claim of messages to send, so a stale holder (paused past its
expiry) sends and commits nothing more.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import pyarrow as pa
from deltalake.exceptions import CommitFailedError

from jobs.errors import OperatorError
from jobs.warehouse.registry import DELIVERY_LEASE
from jobs.warehouse.store import DeltaStore

log = logging.getLogger(__name__)
Action = Literal["acquire", "renew", "release"]
STATE_KEY = "lease"
# A renewal every ttl/3 adds a version; a checkpoint keeps opening the log cheap.
CHECKPOINT_EVERY = 100
Clock = Callable[[], datetime]


class DeliveryBusyError(OperatorError):
    """Another delivery holds this warehouse's lease (exit 3: try again later)."""

    exit_code = 3


class LeaseLostError(OperatorError):
    """This delivery's lease expired or passed to another holder: it must stop."""

    exit_code = 3


def utc_now() -> datetime:
    return datetime.now(UTC)


def default_holder() -> str:
    """Who holds it, for the operator: user, host and process (no personal data)."""
    return f"{getpass.getuser()}@{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class LeaseState:
    """The newest row of the lease table and the table version it is at."""

    version: int
    token: int
    holder: str
    action: Action
    expires_at: datetime

    def is_free(self, now: datetime) -> bool:
        return self.action == "release" or self.expires_at <= now


def current_state(store: DeltaStore) -> LeaseState:
    """The lease as its newest commit states it, with the version that commit is at (each
    commit carries the whole state in its metadata, so one small read answers however
    long the history). A lease never taken reads as released, token 0."""
    table = store.ensure(DELIVERY_LEASE.name)
    newest = max(table.history(1), key=lambda commit: int(commit.get("version", 0)))
    if STATE_KEY not in newest:
        return LeaseState(table.version(), 0, "nobody", "release", datetime.min.replace(tzinfo=UTC))
    state = json.loads(newest[STATE_KEY])
    return LeaseState(
        version=table.version(),
        token=int(state["token"]),
        holder=str(state["holder"]),
        action=state["action"],
        expires_at=datetime.fromisoformat(state["expires_at"]),
    )


@dataclass
class DeliveryLease:
    """This process's hold on the lease: acquire, renew in the background, release."""

    store: DeltaStore
    holder: str = field(default_factory=default_holder)
    ttl_s: float = 30.0
    clock: Clock = utc_now
    token: int = 0
    expires_at: datetime | None = None
    _renewer: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lost: str | None = None

    def acquire(self, *, wait_s: float = 0.0) -> int:
        """Take the lease, waiting up to `wait_s` for a holder to finish; the new token."""
        deadline = time.monotonic() + wait_s
        while True:
            state = current_state(self.store)
            now = self.clock()
            if state.is_free(now):
                token = state.token + 1
                if self._commit("acquire", token, state, now):
                    log.info("delivery lease %s taken by %s", token, self.holder)
                    return token
                continue  # another delivery committed first: look again
            if time.monotonic() >= deadline:
                raise DeliveryBusyError(
                    f"another delivery holds this warehouse's lease: {state.holder} "
                    f"(token {state.token}, until {state.expires_at:%Y-%m-%d %H:%M:%S} UTC "
                    "unless renewed). Only one delivery runs at a time: wait for it, or "
                    "pass --wait SECONDS; a holder that died loses the lease when it expires"
                )
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def renew(self) -> None:
        """Extend the lease; raises `LeaseLostError` when it is no longer ours."""
        for _ in range(5):
            state = current_state(self.store)
            self.check(state)
            if self._commit("renew", self.token, state, self.clock()):
                return
        raise LeaseLostError(f"could not renew delivery lease {self.token}: too many conflicts")

    @property
    def margin_s(self) -> float:
        """How long the lease must still run for a commit or a claim to start: a renewal
        comes every third of the TTL, so a live holder always has more than that."""
        return self.ttl_s / 3

    def check(self, state: LeaseState | None = None, *, margin_s: float = 0.0) -> None:
        """Raise unless the lease is still ours for at least `margin_s` more seconds."""
        if self._lost:
            raise LeaseLostError(self._lost)
        self._lost = why_not_held(
            state or current_state(self.store), self.holder, self.token, self.clock(), margin_s
        )
        if self._lost:
            raise LeaseLostError(self._lost)

    def release(self) -> None:
        """Give the lease up (a clean end); a lease already lost is left as it is."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=self.ttl_s)
        try:
            state = current_state(self.store)
            self.check(state)
            self._commit("release", self.token, state, self.clock())
        except LeaseLostError:
            return

    def keep_renewed(self) -> None:
        """Renew every third of the TTL in a daemon thread until `release`."""

        def loop() -> None:
            while not self._stop.wait(self.ttl_s / 3):
                try:
                    self.renew()
                except LeaseLostError as error:
                    log.error("%s", error)
                    return
                except Exception:  # storage hiccup: the next tick tries again
                    log.exception("renewing the delivery lease failed")

        self._renewer = threading.Thread(target=loop, name="delivery-lease", daemon=True)
        self._renewer.start()

    def fence(self) -> LeaseFence:
        """The check a send subtask makes before each claim, for this holder and token."""
        return LeaseFence(self.store, self.holder, self.token, self.margin_s)

    def _commit(self, action: Action, token: int, state: LeaseState, now: datetime) -> bool:
        """Commit the new state as exactly the next version; False when another won it."""
        expires = now + timedelta(seconds=self.ttl_s)
        row = {"token": token, "holder": self.holder, "action": action, "expires_at": expires}
        at_version = state.version + 1  # the version this decision was read at, plus one
        try:
            self.store.append(
                DELIVERY_LEASE.name,
                pa.Table.from_pylist([{**row, "recorded_at": now}]),
                metadata={STATE_KEY: json.dumps({**row, "expires_at": expires.isoformat()})},
                at_version=at_version,
            )
        except CommitFailedError:
            return False
        if at_version % CHECKPOINT_EVERY == 0:
            self.store.delta_table(DELIVERY_LEASE.name).create_checkpoint()
        self.token, self.expires_at = token, expires
        return True


@dataclass
class LeaseFence:
    """What a send subtask checks before each claim: is the run's lease still current?

    Picklable (Flink ships it to the workers). A state read stays good while its expiry
    is beyond `margin_s` from now: until then nobody else can take the lease."""

    store: DeltaStore
    holder: str
    token: int
    margin_s: float = 5.0
    clock: Clock = utc_now
    _known_until: datetime | None = None

    def check(self) -> None:
        now = self.clock()
        if self._known_until is not None and now < self._known_until:
            return
        state = current_state(self.store)
        lost = why_not_held(state, self.holder, self.token, now, self.margin_s)
        if lost:
            raise LeaseLostError(lost)
        self._known_until = state.expires_at - timedelta(seconds=self.margin_s)


def why_not_held(
    state: LeaseState, holder: str, token: int, now: datetime, margin_s: float
) -> str | None:
    """Why `holder` with `token` may not act now (None: it may, for `margin_s` more)."""
    if (state.holder, state.token) != (holder, token):
        return f"delivery lease {token} passed to {state.holder} (token {state.token}): stop"
    if state.action == "release" or state.expires_at <= now + timedelta(seconds=margin_s):
        return f"delivery lease {token} expired at {state.expires_at:%H:%M:%S}"
    return None
