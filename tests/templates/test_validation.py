"""Every validation rule, each with a failing example that names template, retailer,
file and line; and the repository's own library passes them all."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.cli import main
from jobs.config import ConfigError
from tests.conftest import REPO_CONF, add_sms
from tests.templates.conftest import edit, library_file, line_of, problems_of


def only(problems: list, rule: str) -> list:
    found = [p for p in problems if p.rule == rule]
    assert found, f"no '{rule}' problem among {[str(p) for p in problems]}"
    return found


def test_the_repository_library_passes_every_rule() -> None:
    assert [str(p) for p in problems_of(REPO_CONF)] == []


def test_a_liquid_syntax_error_names_its_file_and_line(conf_dir: Path) -> None:
    path = library_file(conf_dir, "winback", "winback-email")
    edit(path, "{% if promo_code != empty %}<p", "{% if promo_code != %}<p")
    [problem] = only(problems_of(conf_dir), "syntax")
    assert problem.template_id == "winback-email"
    assert problem.file == str(path)
    assert problem.line == line_of(path, "{% if promo_code != %}")
    assert "html:" in problem.message and problem.blocks_deploy


def test_a_syntax_error_in_a_one_line_field_points_at_that_line(conf_dir: Path) -> None:
    path = library_file(conf_dir, "winback", "winback-push")
    edit(path, 'title: "{{ push_title }}"', 'title: "{{ push_title }"')
    [problem] = only(problems_of(conf_dir), "syntax")
    assert (problem.file, problem.line) == (str(path), line_of(path, 'title: "{{'))


def test_a_variable_nobody_supplies_is_named_with_its_line(conf_dir: Path) -> None:
    path = library_file(conf_dir, "promotional", "weekly-deals-email")
    edit(path, "<li>{{ deal_two }}</li>", "<li>{{ deal_too }}</li>")
    [problem] = only(problems_of(conf_dir), "unsupplied-variable")
    assert problem.template_id == "weekly-deals-email"
    assert problem.line == line_of(path, "{{ deal_too }}")
    assert "'deal_too'" in problem.message


def test_a_layout_variable_a_template_does_not_declare_is_reported(conf_dir: Path) -> None:
    layout = conf_dir / "templates" / "layouts" / "standard.html"
    edit(layout, "<title>{{ subject }}</title>", "<title>{{ subject }} {{ season }}</title>")
    found = only(problems_of(conf_dir), "unsupplied-variable")
    assert {p.file for p in found} == {str(layout)}
    assert {p.line for p in found} == {line_of(layout, "{{ season }}")}
    assert "welcome-email" in {p.template_id for p in found}


def test_an_unknown_layout_slot_is_reported_and_withholds_its_templates(conf_dir: Path) -> None:
    layout = conf_dir / "templates" / "layouts" / "standard.html"
    edit(layout, "[[ postal_address ]]", "[[ postal_adress ]]")
    [problem] = only(problems_of(conf_dir), "unknown-slot")
    assert (problem.file, problem.line) == (str(layout), line_of(layout, "postal_adress"))


def test_overrides_of_undeclared_variables_name_retailer_file_and_line(conf_dir: Path) -> None:
    metadata = conf_dir / "templates" / "metadata.yaml"
    edit(
        metadata,
        "      cta_url: https://freshmart.example/shop",
        "      cta_link: https://x.example/",
    )
    edit(metadata, "        deep_link: freshmart://home", "        deep_lnk: freshmart://home")
    edit(metadata, "      cta_url: https://greengrocer.example/", "      brand_name: Green & Co")
    found = {
        (p.retailer_id, p.template_id): p for p in only(problems_of(conf_dir), "unknown-override")
    }
    cta = found[("fresh-mart", "(every template)")]
    assert (cta.file, cta.line) == (str(metadata), line_of(metadata, "cta_link"))
    push = found[("fresh-mart", "winback-push")]
    assert push.line == line_of(metadata, "deep_lnk") and "'deep_lnk'" in push.message
    brand = found[("green-grocer", "(every template)")]
    assert "part of the brand" in brand.message and "conf/retailers" in brand.message


def test_a_campaign_override_of_an_undeclared_variable_names_the_campaign_file(
    conf_dir: Path,
) -> None:
    path = conf_dir / "campaigns" / "fresh-mart-winback.yaml"
    edit(path, "  subject: We miss you at FreshMart", "  subjet: We miss you at FreshMart")
    [problem] = only(problems_of(conf_dir), "unknown-override")
    assert (problem.file, problem.line) == (str(path), line_of(path, "subjet"))
    assert problem.campaign_id == "fresh-mart-winback"
    assert not problem.blocks_deploy  # the campaign is wrong, the templates still deploy


def test_an_email_without_an_unsubscribe_link_is_refused(conf_dir: Path) -> None:
    path = library_file(conf_dir, "onboarding", "welcome-tips-email")
    edit(path, "stage: onboarding\n", "stage: onboarding\nlayout: none\n")
    found = only(problems_of(conf_dir), "unsubscribe-link")
    assert {p.template_id for p in found} == {"welcome-tips-email"}
    assert {p.retailer_id for p in found} == {"fresh-mart", "green-grocer"}  # maple lacks it
    assert {p.message.split(":")[0] for p in found} == {"html", "text"}
    assert {p.line for p in found} == {line_of(path, "<h1"), line_of(path, "text: |") + 1}


def test_a_subject_too_long_for_one_retailer_names_that_retailer_only(conf_dir: Path) -> None:
    metadata = conf_dir / "templates" / "metadata.yaml"
    long_subject = "Everything you loved is back, and this week it is all cheaper than ever"
    edit(
        metadata,
        "      winback-push:\n",
        f"      winback-email:\n        subject: {long_subject} before\n      winback-push:\n",
    )
    edit(metadata, "  subject: 100 ", "  subject: 60 ")
    found = only(problems_of(conf_dir), "length")
    path = library_file(conf_dir, "winback", "winback-email")
    assert [(p.retailer_id, p.template_id, p.file, p.line) for p in found] == [
        ("fresh-mart", "winback-email", str(path), line_of(path, 'subject: "{{'))
    ]
    assert "'subject' from the retailer layer" in found[0].message
    assert f"subject: {len(long_subject) + 7} characters (limit 60)" in found[0].message


def test_push_text_over_its_limit_and_a_campaign_variant_that_overflows(conf_dir: Path) -> None:
    path = library_file(conf_dir, "winback", "winback-push")
    title = "We miss you, and every fresh thing you used to buy from us"
    edit(path, "push_title: We miss you", f"push_title: {title}")
    campaign = conf_dir / "campaigns" / "maple-market-weekly-deals.yaml"
    text = campaign.read_text()
    assert "variables:" not in text
    campaign.write_text(text + "variables:\n  subject: " + "Deals " * 20 + "\n")
    found = only(problems_of(conf_dir), "length")
    push = [p for p in found if p.template_id == "winback-push"]
    assert {p.retailer_id for p in push} == {"fresh-mart", "green-grocer"}
    assert all(f"title: {len(title)} characters (limit 50)" in p.message for p in push)
    [deals] = [p for p in found if p.template_id == "weekly-deals-email"]
    assert (deals.retailer_id, deals.campaign_id) == ("maple-market", "maple-market-weekly-deals")
    assert "subject: 119 characters" in deals.message and not deals.blocks_deploy


def test_html_over_what_gmail_clips_is_refused(conf_dir: Path) -> None:
    path = library_file(conf_dir, "promotional", "personal-offer-email")
    edit(path, "  disclaimer: One use", "  disclaimer: " + "Terms apply. " * 8_000 + "One use")
    found = only(problems_of(conf_dir), "html-size")
    assert {p.template_id for p in found} == {"personal-offer-email"}
    assert {p.line for p in found} == {line_of(path, "<h1")}
    assert "Gmail clips above 104,448" in found[0].message


def test_an_image_without_alt_text_is_found_in_source_and_after_rendering(
    conf_dir: Path,
) -> None:
    path = library_file(conf_dir, "onboarding", "welcome-tips-email")
    edit(
        path,
        "    <ol>\n",
        '    <img src="https://assets.example/tips.png" width="552">\n    <ol>\n',
    )
    metadata = conf_dir / "templates" / "metadata.yaml"
    edit(metadata, "      preheader: Crisp", '      image_alt: ""\n      preheader: Crisp')
    found = only(problems_of(conf_dir), "img-alt")
    source = [p for p in found if p.retailer_id is None]
    assert [(p.template_id, p.line) for p in source] == [
        ("welcome-tips-email", line_of(path, "tips.png"))
    ]
    rendered = {(p.retailer_id, p.template_id) for p in found if p.retailer_id}
    assert ("fresh-mart", "winback-email") in rendered  # image_alt emptied by fresh-mart
    assert all(retailer == "fresh-mart" for retailer, _ in rendered)


def test_a_template_that_fails_to_render_names_the_field(conf_dir: Path) -> None:
    path = library_file(conf_dir, "winback", "winback-push")
    edit(path, "{{ push_body }}{% if", "{{ push_body }}{{ 1 | divided_by: 0 }}{% if")
    found = only(problems_of(conf_dir), "render")
    assert {p.retailer_id for p in found} == {"fresh-mart", "green-grocer"}
    assert all(p.message.startswith("body: does not render") for p in found)


def test_validate_config_lists_template_problems_with_file_and_line(
    conf_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = library_file(conf_dir, "promotional", "personal-offer-push")
    edit(path, "{{ offer_text }}", "{{ offer_txt }}")
    assert main(["validate-config", "--conf", str(conf_dir)]) == 2
    out = capsys.readouterr().err
    assert f"{path}:{line_of(path, '{{ offer_txt }}')}: template 'personal-offer-push'" in out
    assert "[unsupplied-variable]" in out


@pytest.mark.parametrize("tag", ["render", "include"])
def test_a_partial_is_a_problem_line_not_a_traceback(
    conf_dir: Path, tag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = library_file(conf_dir, "winback", "winback-push")
    edit(path, "{{ push_body }}", "{{ push_body }}{% " + tag + " 'footer' %}")

    [problem] = only(problems_of(conf_dir), "unsupported-tag")
    assert (problem.file, problem.line) == (str(path), line_of(path, tag))
    assert "no workspace holds" in problem.message and problem.blocks_deploy
    assert main(["validate-config", "--conf", str(conf_dir)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "[unsupported-tag]" in err


def test_blank_is_refused_because_ruby_liquid_reads_it_differently(conf_dir: Path) -> None:
    path = library_file(conf_dir, "onboarding", "welcome-push")
    edit(path, "{% if first_name != empty %}", "{% if first_name != blank %}")

    [problem] = only(problems_of(conf_dir), "engine-dependent")
    assert (problem.template_id, problem.line) == ("welcome-push", line_of(path, "!= blank"))
    assert "compare with 'empty'" in problem.message


def test_a_campaign_template_its_retailer_never_receives_is_refused(conf_dir: Path) -> None:
    """maple-market receives only weekly-deals-email: every message would fail with a 400."""
    path = conf_dir / "campaigns" / "maple-market-weekly-deals.yaml"
    edit(path, "email: weekly-deals-email", "email: welcome-tips-email")

    with pytest.raises(ConfigError) as error:
        problems_of(conf_dir)

    [problem] = [str(p) for p in error.value.problems]
    assert problem.startswith(f"{path}: templates.email: template 'welcome-tips-email' is not")
    assert "deployed to retailer 'maple-market'" in problem
    assert "retailers.maple-market.templates" in problem


def test_overrides_keyed_by_a_template_variant_are_refused(conf_dir: Path) -> None:
    """A retailer's variant is deployed under the standard id; overrides keyed by the
    variant's own id were silently never applied."""
    metadata = conf_dir / "templates" / "metadata.yaml"
    edit(
        metadata,
        "    variables:\n      cta_url: https://greengrocer.example/\n",
        "    variables:\n      cta_url: https://greengrocer.example/\n"
        "    template_variables:\n      welcome-email-green-grocer:\n        cta_url: https://x.example/\n",
    )

    with pytest.raises(ConfigError) as error:
        problems_of(conf_dir)

    [problem] = [str(p) for p in error.value.problems]
    where = "retailers.green-grocer.template_variables.welcome-email-green-grocer"
    assert problem.startswith(f"{metadata}: {where}: ")
    assert "key its overrides by the id it is deployed under: 'welcome-email'" in problem


def test_a_text_over_its_segments_or_without_the_opt_out_is_reported(conf_dir: Path) -> None:
    add_sms(conf_dir)
    path = library_file(conf_dir, "winback", "winback-sms")
    edit(path, "sms_body: we miss you!", "sms_body: " + "we miss you 🍓 " * 12)
    metadata = conf_dir / "templates" / "metadata.yaml"
    found = only(problems_of(conf_dir), "sms")
    assert [(p.retailer_id, p.template_id, p.file, p.line) for p in found] == [
        ("fresh-mart", "winback-sms", str(path), line_of(path, 'body: "{{'))
    ]
    assert "5 segment(s)" in found[0].message and "UCS-2 because of '🍓'" in found[0].message
    assert found[0].blocks_deploy

    edit(metadata, "  sms_segments: 3", "  sms_segments: 6")
    edit(path, " Reply STOP to opt out.", "")
    [opt_out] = only(problems_of(conf_dir), "sms")
    assert "does not tell how to opt out" in opt_out.message
