"""Configuration validation: every bad file is named with its field and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jobs.cli import main
from jobs.config import ConfigError, load_conf
from tests.conftest import REPO_CONF, SMS_ACCOUNT, add_sms


def edit_yaml(path: Path, change: dict[str, object], *, drop: tuple[str, ...] = ()) -> None:
    data = yaml.safe_load(path.read_text())
    data.update(change)
    for key in drop:
        data.pop(key)
    path.write_text(yaml.safe_dump(data))


def problems_of(conf_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_conf(conf_dir)
    return [str(problem) for problem in error.value.problems]


def test_repository_configuration_is_valid() -> None:
    conf = load_conf(REPO_CONF)

    assert set(conf.retailers) == {"fresh-mart", "green-grocer", "maple-market"}
    assert conf.retailer("fresh-mart").sending_identity(conf.platform.sending_domain) == (
        "freshmart@mail.campaigns.example"
    )
    assert conf.campaign("fresh-mart-winback").variants[1].offer is not None
    assert conf.profile.name == "local"
    assert conf.profile.warehouse_uri.endswith("var/warehouse")


def test_missing_field_names_file_and_field(conf_dir: Path) -> None:
    edit_yaml(conf_dir / "retailers" / "green-grocer.yaml", {}, drop=("rate_limit",))

    problems = problems_of(conf_dir)

    assert problems == [
        f"{conf_dir / 'retailers' / 'green-grocer.yaml'}: rate_limit: Field required"
    ]


def test_wrong_type_names_the_nested_field(conf_dir: Path) -> None:
    edit_yaml(
        conf_dir / "retailers" / "fresh-mart.yaml",
        {"rate_limit": {"requests_per_second": "fast", "burst": 5}},
    )

    (problem,) = problems_of(conf_dir)

    assert "fresh-mart.yaml: rate_limit.requests_per_second:" in problem
    assert "valid number" in problem


def test_unknown_retailer_in_a_campaign(conf_dir: Path) -> None:
    edit_yaml(conf_dir / "campaigns" / "fresh-mart-winback.yaml", {"retailer_id": "fresh-mrt"})

    (problem,) = problems_of(conf_dir)

    assert "fresh-mart-winback.yaml: retailer_id: unknown retailer 'fresh-mrt'" in problem


def test_channel_not_enabled_for_the_retailer(conf_dir: Path) -> None:
    edit_yaml(
        conf_dir / "campaigns" / "maple-market-weekly-deals.yaml",
        {"channels": ["email", "push"], "templates": {"email": "a", "push": "b"}},
    )

    (problem,) = problems_of(conf_dir)

    assert "maple-market-weekly-deals.yaml: channels: channel(s) ['push']" in problem


def test_unknown_keys_and_bad_variants_are_all_reported(conf_dir: Path) -> None:
    edit_yaml(
        conf_dir / "campaigns" / "green-grocer-welcome.yaml",
        {"audiance": [], "variants": [{"variant_id": "a", "weight": 0}]},
    )

    problems = problems_of(conf_dir)

    assert any("audiance: Extra inputs are not permitted" in p for p in problems)
    assert any("variants.0.weight: Input should be greater than 0" in p for p in problems)


def test_offer_needs_its_value(conf_dir: Path) -> None:
    edit_yaml(
        conf_dir / "campaigns" / "maple-market-weekly-deals.yaml",
        {"variants": [{"variant_id": "a", "weight": 1, "offer": {"kind": "amount_off"}}]},
    )

    (problem,) = problems_of(conf_dir)

    assert "variants.0.offer" in problem and "needs 'amount_cents'" in problem


def test_invalid_yaml_names_the_line(conf_dir: Path) -> None:
    (conf_dir / "retailers" / "broken.yaml").write_text("retailer_id: x\nbrand: [unclosed\n")

    (problem,) = problems_of(conf_dir)

    assert "broken.yaml: line 3" in problem and "not valid YAML" in problem


def test_two_retailers_cannot_share_a_workspace(conf_dir: Path) -> None:
    edit_yaml(
        conf_dir / "retailers" / "maple-market.yaml",
        {
            "workspace": {
                "workspace_id": "ws-freshmart",
                "base_url": "http://127.0.0.1:1",
                "api_key_env": "X_KEY",
            }
        },
    )

    (problem,) = problems_of(conf_dir)

    assert "workspace.workspace_id: workspace 'ws-freshmart' already belongs to" in problem


def test_configuration_holds_variable_names_not_secrets() -> None:
    conf = load_conf(REPO_CONF)

    for retailer in conf.retailers.values():
        assert retailer.workspace.api_key_env.isupper()
    assert "api_key:" not in "".join(p.read_text() for p in REPO_CONF.rglob("*.yaml"))


def test_warehouse_uri_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE_URI", "s3://bucket/wh")

    assert load_conf(REPO_CONF, profile="cluster").profile.warehouse_uri == "s3://bucket/wh"


def test_unknown_profile_is_reported(conf_dir: Path) -> None:
    (problem,) = problems_of_profile(conf_dir, "staging")

    assert "profiles/staging.yaml: file is missing" in problem


def problems_of_profile(conf_dir: Path, profile: str) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_conf(conf_dir, profile=profile)
    return [str(problem) for problem in error.value.problems]


@pytest.mark.parametrize(
    ("field", "what"),
    [
        ("slug", "slug (its sending identity"),
        ("workspace.base_url", "workspace URL"),
        ("workspace.api_key_env", "API key variable"),
    ],
)
def test_no_two_retailers_share_a_url_key_or_sending_identity(
    conf_dir: Path, field: str, what: str
) -> None:
    """Any of these shared would send one tenant's messages through another's account."""
    fresh = yaml.safe_load((conf_dir / "retailers" / "fresh-mart.yaml").read_text())
    path = conf_dir / "retailers" / "maple-market.yaml"
    maple = yaml.safe_load(path.read_text())
    if field == "slug":
        maple["slug"] = fresh["slug"]
    else:
        key = field.split(".")[1]
        # the same URL spelt with a trailing slash is still the same workspace
        maple["workspace"][key] = fresh["workspace"][key] + ("/" if key == "base_url" else "")
    path.write_text(yaml.safe_dump(maple))

    (problem,) = problems_of(conf_dir)

    assert problem.startswith(f"{path}: {field}: {what}")
    assert "already belongs to retailer 'fresh-mart'" in problem


@pytest.mark.parametrize("folder", ["campaigns", "retailers"])
def test_an_empty_file_is_named_not_skipped(
    conf_dir: Path, folder: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty campaign used to vanish silently; an empty retailer file showed only as
    'unknown retailer' somewhere else."""
    empty = conf_dir / folder / "new-one.yaml"
    empty.write_text("# to do\n")

    assert main(["validate-config", "--conf", str(conf_dir)]) == 2

    assert f"{empty}: file is empty: fill it in" in capsys.readouterr().err


def test_a_time_zone_must_exist(conf_dir: Path) -> None:
    path = conf_dir / "retailers" / "fresh-mart.yaml"
    edit_yaml(path, {"timezone": "Mars/Olympus"})

    (problem,) = problems_of(conf_dir)

    assert problem.startswith(f"{path}: timezone: 'Mars/Olympus' is not an IANA time zone")
    assert "America/New_York" in problem


@pytest.mark.parametrize(
    ("schedule", "said"),
    [
        ("every monday", "schedule 'every monday' is a sentence; write a block"),
        ({"kind": "cron", "cron": "every monday"}, "it needs five fields"),
        ({"kind": "cron", "cron": "0 25 * * MON"}, "hour field '25': '25' is outside 0..23"),
        ({"kind": "cron", "cron": "0 9 * * MOX"}, "day of week field 'MOX'"),
        ({"kind": "once", "start_at": "next week"}, "start_at 'next week' is not an ISO"),
        ({"kind": "once", "cron": "0 9 * * *"}, "set kind: cron"),
    ],
)
def test_a_schedule_airflow_could_not_read_is_refused(
    conf_dir: Path, schedule: object, said: str
) -> None:
    path = conf_dir / "campaigns" / "fresh-mart-winback.yaml"
    edit_yaml(path, {"schedule": schedule})

    (problem,) = problems_of(conf_dir)

    assert problem.startswith(f"{path}: schedule") and said in problem


@pytest.mark.parametrize(
    "cron", ["0 9 * * MON", "*/15 8-20 * * 1-5", "0 7 1,15 JAN-MAR *", "@daily"]
)
def test_the_cron_forms_airflow_reads_are_accepted(conf_dir: Path, cron: str) -> None:
    edit_yaml(
        conf_dir / "campaigns" / "fresh-mart-winback.yaml",
        {"schedule": {"kind": "cron", "cron": cron}},
    )

    assert load_conf(conf_dir).campaign("fresh-mart-winback").schedule.cron == cron


ADAPTIVE = {"mode": "adaptive", "metric": "click", "waves": 3, "wave_interval": "4h"}


@pytest.mark.parametrize(
    ("allocation", "field", "said"),
    [
        ({**ADAPTIVE, "waves": 1}, "allocation.waves", "greater than or equal to 2"),
        ({**ADAPTIVE, "metric": "revenue"}, "allocation.metric", "'click', 'open' or"),
        ({**ADAPTIVE, "wave_interval": "4 hours"}, "allocation.wave_interval", "write a whole"),
        ({**ADAPTIVE, "exploration_share": 1.5}, "allocation.exploration_share", "less than 1"),
        ({**ADAPTIVE, "stop": {"confidence": 2}}, "allocation.stop.confidence", "less than 1"),
        ({**ADAPTIVE, "explore": 0.2}, "allocation.explore", "Extra inputs"),
        (ADAPTIVE, "allocation", "the waves decide the weights: remove 'weight'"),
    ],
)
def test_bad_allocation_is_refused_with_file_and_field(
    conf_dir: Path, allocation: dict[str, object], field: str, said: str
) -> None:
    path = conf_dir / "campaigns" / "fresh-mart-winback.yaml"
    edit_yaml(path, {"allocation": allocation})

    (problem,) = problems_of(conf_dir)

    assert problem.startswith(f"{path}: {field}:") and said in problem, problem


def test_an_adaptive_campaign_needs_two_variants_and_no_weights(conf_dir: Path) -> None:
    path = conf_dir / "campaigns" / "green-grocer-welcome.yaml"
    edit_yaml(path, {"allocation": ADAPTIVE})

    (problem,) = problems_of(conf_dir)

    assert problem.startswith(f"{path}: allocation:") and "this campaign has one" in problem

    two = [{"variant_id": "plain"}, {"variant_id": "warm"}]
    edit_yaml(path, {"allocation": ADAPTIVE, "variants": two})
    allocation = load_conf(conf_dir).campaign("green-grocer-welcome").allocation
    assert allocation.is_adaptive and allocation.wave_interval_seconds == 4 * 3600
    bounds = [edge for k in (1, 2, 3) for edge in allocation.wave_bounds(k)]
    assert bounds == pytest.approx([0, 0.2, 0.2, 0.6, 0.6, 1.0])


def test_bad_sms_configuration_names_file_and_field(conf_dir: Path) -> None:
    add_sms(conf_dir)
    fresh_mart = conf_dir / "retailers" / "fresh-mart.yaml"
    sms = {
        **SMS_ACCOUNT,
        "account_sid": "freshmart",
        "sender": {"number": "+13125550100", "kind": "long_code", "messages_per_second": 10},
    }
    edit_yaml(fresh_mart, {"sms": sms})

    problems = problems_of(conf_dir)

    assert len(problems) == 2
    assert problems[0].startswith(f"{fresh_mart}: sms.account_sid: String should match")
    assert problems[1].startswith(f"{fresh_mart}: sms.sender: messages_per_second 10")
    assert "above what carriers allow a long_code (1/s)" in problems[1]


def test_texts_need_an_sms_account_and_a_sender_of_the_right_kind(conf_dir: Path) -> None:
    add_sms(conf_dir)
    fresh_mart = conf_dir / "retailers" / "fresh-mart.yaml"
    edit_yaml(fresh_mart, {}, drop=("sms",))
    green = conf_dir / "retailers" / "green-grocer.yaml"
    edit_yaml(
        green,
        {
            "channels": ["email", "sms"],
            "sms": {
                **SMS_ACCOUNT,
                "account_sid": "ACgg",
                "auth_token_env": "GG_SMS",
                "sender": {"number": "+1312", "kind": "short_code"},
            },
        },
    )

    problems = problems_of(conf_dir)

    assert any(
        p.startswith(f"{fresh_mart}: (top): channels has sms but no sms account") for p in problems
    ), problems
    assert any(
        p.startswith(f"{green}: sms.sender.number: String should match") for p in problems
    ), problems


def test_two_retailers_cannot_share_an_sms_sender(conf_dir: Path) -> None:
    add_sms(conf_dir)
    green = conf_dir / "retailers" / "green-grocer.yaml"
    edit_yaml(green, {"sms": {**SMS_ACCOUNT, "account_sid": "ACgg", "auth_token_env": "GG_SMS"}})

    problems = problems_of(conf_dir)

    assert len(problems) == 2, problems
    assert any("sms.base_url: SMS account URL" in p for p in problems)
    assert any(
        "sms.sender.number: SMS sender number '+13125550100' already belongs" in p for p in problems
    )
