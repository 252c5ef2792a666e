"""Serving an aiohttp application on loopback from a background thread.

The provider simulator (tests, benchmarks, the demo) and the preview page
(tests) run this way; in the foreground they use `web.run_app`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

from aiohttp import web

from jobs.commands.common import LOOPBACK


class AppThread:
    """One application on an ephemeral (or given) loopback port, in a daemon thread."""

    def __init__(self, app: web.Application, *, port: int = 0, name: str = "web") -> None:
        self.app = app
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, LOOPBACK, self._port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def start(self) -> Self:
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError(f"{self._thread.name} did not start within 30 s")
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


@contextmanager
def serving(thread: AppThread) -> Iterator[AppThread]:
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()
