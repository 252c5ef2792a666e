"""A development secret generated once, even by commands that start at the same moment."""

from __future__ import annotations

import threading
from pathlib import Path

from jobs.config.models import Profile
from jobs.config.secrets import secret_from_env


def test_commands_starting_at_once_on_a_fresh_checkout_agree_on_the_secret(
    tmp_path: Path,
) -> None:
    profile = Profile(name="local", warehouse_uri="/tmp/w", dev_secrets_dir=str(tmp_path))
    start, seen = threading.Barrier(8), []

    def read() -> None:
        start.wait()
        seen.append(secret_from_env("CAMPAIGNS_TEST_UNSET_KEY", profile, purpose="a test"))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(seen) == 8 and len(set(seen)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["CAMPAIGNS_TEST_UNSET_KEY"]  # nothing staged
    assert (tmp_path / "CAMPAIGNS_TEST_UNSET_KEY").stat().st_mode & 0o777 == 0o600
