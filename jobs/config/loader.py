"""Reads conf/ into typed models, once, at the edge of every job.

Layout: platform.yaml, profiles/<name>.yaml, retailers/*.yaml (one retailer a
file), campaigns/*.yaml (one campaign a file). Every problem found in the tree
is collected and raised together as one ConfigError.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ValidationError

from jobs.config.errors import ConfigError, ConfigProblem
from jobs.config.models import CampaignConfig, PlatformConfig, Profile, RetailerConfig

CONF_ENV = "CAMPAIGNS_CONF"
PROFILE_ENV = "CAMPAIGNS_PROFILE"
WAREHOUSE_URI_ENV = "CAMPAIGNS_WAREHOUSE_URI"
DEFAULT_PROFILE = "local"

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Conf:
    """The whole validated configuration a job runs with."""

    root: Path
    platform: PlatformConfig
    profile: Profile
    retailers: dict[str, RetailerConfig] = field(default_factory=dict)
    campaigns: dict[str, CampaignConfig] = field(default_factory=dict)
    # The file each campaign came from, so later checks can name it (generated ones have none).
    campaign_paths: dict[str, Path] = field(default_factory=dict)

    def retailer(self, retailer_id: str) -> RetailerConfig:
        try:
            return self.retailers[retailer_id]
        except KeyError:
            raise ConfigError(
                [
                    ConfigProblem(
                        str(self.root / "retailers"),
                        "retailer_id",
                        f"unknown retailer '{retailer_id}' (known: {sorted(self.retailers)})",
                    )
                ]
            ) from None

    def campaign(self, campaign_id: str) -> CampaignConfig:
        try:
            return self.campaigns[campaign_id]
        except KeyError:
            raise ConfigError(
                [
                    ConfigProblem(
                        str(self.root / "campaigns"),
                        "campaign_id",
                        f"unknown campaign '{campaign_id}' (known: {sorted(self.campaigns)})",
                    )
                ]
            ) from None


def default_conf_dir() -> Path:
    """$CAMPAIGNS_CONF, else ./conf, else the conf/ shipped beside the package."""
    if os.environ.get(CONF_ENV):
        return Path(os.environ[CONF_ENV])
    if Path("conf").is_dir():
        return Path("conf")
    return Path(__file__).resolve().parents[2] / "conf"


def load_conf(conf_dir: Path | None = None, *, profile: str | None = None) -> Conf:
    """Validate the whole tree; raise one ConfigError listing every problem."""
    root = (conf_dir or default_conf_dir()).resolve()
    problems: list[ConfigProblem] = []
    profile_name = profile or os.environ.get(PROFILE_ENV, DEFAULT_PROFILE)
    platform = load_one(root / "platform.yaml", PlatformConfig, problems)
    profile_model = load_one(root / "profiles" / f"{profile_name}.yaml", Profile, problems)
    retailers, broken_retailers = load_many(
        root / "retailers", RetailerConfig, "retailer_id", problems
    )
    campaigns, _ = load_many(root / "campaigns", CampaignConfig, "campaign_id", problems)
    problems.extend(_cross_check(retailers, campaigns, broken_retailers))
    if platform is not None:
        problems.extend(_undefined_pools(platform, retailers, root / "platform.yaml"))
    if problems or platform is None or profile_model is None:
        raise ConfigError(problems)
    return Conf(
        root=root,
        platform=platform,
        profile=_resolve_warehouse_uri(profile_model, root),
        retailers={key: model for key, (model, _) in retailers.items()},
        campaigns={key: model for key, (model, _) in campaigns.items()},
        campaign_paths={key: path for key, (_, path) in campaigns.items()},
    )


def _resolve_warehouse_uri(profile: Profile, conf_root: Path) -> Profile:
    """$CAMPAIGNS_WAREHOUSE_URI wins; relative local paths are taken from the project root."""
    uri = os.environ.get(WAREHOUSE_URI_ENV) or profile.warehouse_uri
    if "://" not in uri and not Path(uri).is_absolute():
        uri = str((conf_root.parent / uri).resolve())
    secrets_dir = profile.dev_secrets_dir
    if secrets_dir and not Path(secrets_dir).is_absolute():
        secrets_dir = str((conf_root.parent / secrets_dir).resolve())
    return profile.model_copy(update={"warehouse_uri": uri, "dev_secrets_dir": secrets_dir})


def _read_yaml(path: Path, problems: list[ConfigProblem]) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        problems.append(ConfigProblem(str(path), "", "file is missing"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(ConfigProblem(str(path), where, f"not valid YAML: {error}"))
    return None


def _read_mapping(path: Path, problems: list[ConfigProblem]) -> dict[str, Any] | None:
    found = len(problems)
    data = _read_yaml(path, problems)
    if data is None and len(problems) == found:
        problems.append(
            ConfigProblem(
                str(path), "", "file is empty: fill it in (see docs/configuration.md) or delete it"
            )
        )
    if data is None:
        return None
    if not isinstance(data, dict):
        problems.append(ConfigProblem(str(path), "", "expected a mapping of fields at the top"))
        return None
    return data


def _validate(
    path: Path, data: dict[str, Any], model: type[ModelT], problems: list[ConfigProblem]
) -> ModelT | None:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems.extend(_problems_from(path, error))
        return None


def load_one(path: Path, model: type[ModelT], problems: list[ConfigProblem]) -> ModelT | None:
    data = _read_mapping(path, problems)
    return None if data is None else _validate(path, data, model, problems)


def load_many(
    folder: Path,
    model: type[ModelT],
    id_field: str,
    problems: list[ConfigProblem],
) -> tuple[dict[str, tuple[ModelT, Path]], set[str]]:
    """Every file of a folder by id, and the ids whose files did not validate.

    The broken ids let cross-file checks stay quiet about them: a retailer file
    with a typo must not also make each of its campaigns report an unknown retailer.
    """
    loaded: dict[str, tuple[ModelT, Path]] = {}
    broken: set[str] = set()
    for path in sorted(folder.glob("*.yaml")):
        data = _read_mapping(path, problems)
        item = None if data is None else _validate(path, data, model, problems)
        if item is None:
            broken.add(str((data or {}).get(id_field)))
            continue
        item_id = str(getattr(item, id_field))
        if item_id in loaded:
            problems.append(
                ConfigProblem(
                    str(path), id_field, f"'{item_id}' is already defined in {loaded[item_id][1]}"
                )
            )
            continue
        loaded[item_id] = (item, path)
    return loaded, broken


def _problems_from(path: Path, error: ValidationError) -> list[ConfigProblem]:
    return [
        ConfigProblem(
            str(path),
            ".".join(str(part) for part in issue["loc"]) or "(top)",
            issue["msg"].removeprefix("Value error, "),
        )
        for issue in error.errors()
    ]


def check_new_retailer(conf: Conf, path: Path) -> RetailerConfig:
    """A retailer file about to join `conf`, validated alone and against every other file.

    Raises one ConfigError naming `path` for every problem; nothing is copied or
    provisioned before this passes.
    """
    problems: list[ConfigProblem] = []
    retailer = load_one(path, RetailerConfig, problems)
    if retailer is not None:
        target = conf.root / "retailers" / f"{retailer.retailer_id}.yaml"
        others = {
            rid: (model, conf.root / "retailers" / f"{rid}.yaml")
            for rid, model in conf.retailers.items()
            if rid != retailer.retailer_id
        }
        elsewhere = target.exists() and target.resolve() != path.resolve()
        if elsewhere and load_one(target, RetailerConfig, []) != retailer:
            problems.append(
                ConfigProblem(
                    str(path),
                    "retailer_id",
                    f"'{retailer.retailer_id}' is already configured differently in {target}; "
                    "edit that file instead (onboarding never overwrites a retailer)",
                )
            )
        others[retailer.retailer_id] = (retailer, path)
        problems += _cross_check(others, {}, set())
        problems += _undefined_pools(
            conf.platform, {retailer.retailer_id: (retailer, path)}, conf.root / "platform.yaml"
        )
    if problems or retailer is None:
        raise ConfigError(problems)
    return retailer


def _undefined_pools(
    platform: PlatformConfig, retailers: dict[str, tuple[RetailerConfig, Path]], platform_path: Path
) -> list[ConfigProblem]:
    """A retailer's IP pool must be declared: a misspelt pool would escape its warming plan."""
    return [
        ConfigProblem(
            str(path),
            "ip_pool",
            f"IP pool '{retailer.ip_pool}' is not declared under ip_pools in {platform_path} "
            f"(declared: {sorted(platform.ip_pools)}); declare it there with its daily_capacity",
        )
        for retailer, path in retailers.values()
        if retailer.ip_pool not in platform.ip_pools
    ]


def _cross_check(
    retailers: dict[str, tuple[RetailerConfig, Path]],
    campaigns: dict[str, tuple[CampaignConfig, Path]],
    broken_retailers: set[str],
) -> list[ConfigProblem]:
    """Rules that span files: a campaign must belong to a known retailer and its channels."""
    problems: list[ConfigProblem] = []
    for campaign, path in campaigns.values():
        owner = retailers.get(campaign.retailer_id)
        if owner is None and campaign.retailer_id in broken_retailers:
            continue
        if owner is None:
            problems.append(
                ConfigProblem(
                    str(path),
                    "retailer_id",
                    f"unknown retailer '{campaign.retailer_id}' (known: {sorted(retailers)})",
                )
            )
            continue
        disabled = [ch for ch in campaign.channels if ch not in owner[0].channels]
        if disabled:
            problems.append(
                ConfigProblem(
                    str(path),
                    "channels",
                    f"channel(s) {disabled} are not enabled for retailer '{campaign.retailer_id}' "
                    f"({owner[1].name} enables {owner[0].channels})",
                )
            )
    problems += _shared_between_retailers(retailers)
    return problems


# What no two retailers may share: each would let one tenant's messages, templates or
# events pass through another's workspace, key or sending identity.
_OWN_PER_RETAILER: tuple[tuple[str, str, Callable[[RetailerConfig], str]], ...] = (
    ("workspace.workspace_id", "workspace", lambda r: r.workspace.workspace_id),
    ("workspace.base_url", "workspace URL", lambda r: _same_url(r.workspace.base_url)),
    ("workspace.api_key_env", "API key variable", lambda r: r.workspace.api_key_env),
    ("slug", "slug (its sending identity and unsubscribe link)", lambda r: r.slug),
    ("sms.account_sid", "SMS account", lambda r: r.sms.account_sid if r.sms else ""),
    ("sms.base_url", "SMS account URL", lambda r: _same_url(r.sms.base_url) if r.sms else ""),
    ("sms.auth_token_env", "SMS token variable", lambda r: r.sms.auth_token_env if r.sms else ""),
    ("sms.sender.number", "SMS sender number", lambda r: r.sms.sender.number if r.sms else ""),
)


def _same_url(url: str) -> str:
    """One spelling per URL: scheme and host are case-insensitive, a trailing / says nothing."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _shared_between_retailers(
    retailers: dict[str, tuple[RetailerConfig, Path]],
) -> list[ConfigProblem]:
    """Workspace, URL, key variable and slug belong to one retailer each."""
    problems = []
    for field_name, what, value_of in _OWN_PER_RETAILER:
        owners: dict[str, str] = {}
        for retailer, path in sorted(retailers.values(), key=lambda item: str(item[1])):
            value = value_of(retailer)
            if not value:  # the retailer has no such thing (no SMS account)
                continue
            other = owners.setdefault(value, retailer.retailer_id)
            if other != retailer.retailer_id:
                problems.append(
                    ConfigProblem(
                        str(path),
                        field_name,
                        f"{what} '{value}' already belongs to retailer '{other}'; every "
                        f"retailer needs its own (tenants never share a {what})",
                    )
                )
    return problems


def add_retailer_file(conf_dir: Path, source: Path, retailer_id: str) -> str:
    """Copy a checked retailer file into conf/retailers/ unless it is there already;
    never over a different file. Returns what happened, for the operator."""
    target = conf_dir / "retailers" / f"{retailer_id}.yaml"
    if target.exists() and target.resolve() == source.resolve():
        return f"{target}: already in conf/"
    if target.exists():
        return f"{target}: already in conf/ with the same settings"
    shutil.copyfile(source, target)
    return f"{target}: added"
