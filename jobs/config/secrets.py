"""Secrets come from the environment; configuration only names the variables."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from jobs.config.errors import ConfigError, ConfigProblem
from jobs.config.models import Profile

log = logging.getLogger(__name__)


def secret_from_env(variable: str, profile: Profile, *, purpose: str) -> bytes:
    """The secret in `$variable`; on a profile with `dev_secrets_dir`, a kept local one.

    Anywhere else a missing variable is a configuration error that says how
    to set it.
    """
    value = os.environ.get(variable)
    if value:
        return value.encode()
    if profile.dev_secrets_dir is None:
        raise ConfigError(
            [
                ConfigProblem(
                    f"environment variable {variable}",
                    "",
                    f"is not set; it holds the {purpose}. Set it from your secret store, e.g. "
                    f"`export {variable}=$(openssl rand -hex 32)`",
                )
            ]
        )
    path = Path(profile.dev_secrets_dir) / variable
    if not path.exists() and _create_once(path, secrets.token_hex(32)):
        log.warning("%s is unset: generated a local development secret at %s", variable, path)
    return path.read_text().strip().encode()


def _create_once(path: Path, value: str) -> bool:
    """Write `value` to `path` unless it exists; True if this call created it.

    Two commands started at once on a fresh checkout (the simulator and a delivery)
    must agree on the secret: it is written aside and linked into place, which fails
    for all but the first, who then read the winner's.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    staged.write_text(value)
    staged.chmod(0o600)
    try:
        os.link(staged, path)
    except FileExistsError:
        return False
    finally:
        staged.unlink()
    return True
