"""Typed, validated configuration: retailers, campaigns, platform and environment profiles."""

from jobs.config.errors import ConfigError, ConfigProblem
from jobs.config.loader import Conf, load_conf
from jobs.config.models import CampaignConfig, PlatformConfig, Profile, RetailerConfig

__all__ = [
    "CampaignConfig",
    "Conf",
    "ConfigError",
    "ConfigProblem",
    "PlatformConfig",
    "Profile",
    "RetailerConfig",
    "load_conf",
]
