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
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
        log.warning("%s is unset: generated a local development secret at %s", variable, path)
    return path.read_text().strip().encode()
