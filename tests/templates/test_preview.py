"""`campaigns preview`: the email HTML written, push text printed, with sample data or
with one real customer of the retailer (never another retailer's customer)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from jobs.cli import main
from jobs.warehouse.store import DeltaStore
from tests.conftest import REPO_CONF
from tests.delivery.conftest import append_events, event_rows


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DeltaStore:
    """Two retailers with a customer c00001 each (same id, different people)."""
    store = DeltaStore(str(tmp_path / "warehouse"))
    now = datetime(2026, 11, 1, tzinfo=UTC)
    customers = [
        {
            "retailer_id": rid,
            "customer_id": "c00001",
            "first_name": name,
            "last_name": "Doe",
            "locale": "en-US",
            "email": f"{name.lower()}@example.com",
            "signup_at": now,
            "updated_at": now,
        }
        for rid, name in (("fresh-mart", "Beatrice"), ("green-grocer", "Gustav"))
    ]
    store.append(
        "customers", pa.Table.from_pylist(customers, schema=store.arrow_schema("customers"))
    )
    append_events(
        store,
        event_rows(
            "fresh-mart",
            "fresh-mart-winback",
            "run-1",
            3,
            channels=("email", "push"),
            variants=("ten-percent", "control"),
        ),
    )
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE_URI", store.root_uri)
    return store


def preview(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["preview", "--conf", str(REPO_CONF), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_email_preview_writes_the_html_and_prints_subject_and_text(
    warehouse: DeltaStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = preview(
        capsys,
        *("--retailer", "fresh-mart", "--template", "winback-email", "--out", str(tmp_path)),
        *("--campaign", "fresh-mart-winback", "--variant", "ten-percent"),
    )
    assert code == 0, out
    assert "subject:   We miss you at FreshMart" in out
    assert "from:      freshmart@mail.campaigns.example" in out
    html = (tmp_path / "fresh-mart-winback-email.html").read_text()
    assert "It has been a while, Alexandra" in html and "SAMPLE-7Q2X-K9" in html
    assert 'href="https://mail.campaigns.example/u/freshmart"' in html
    assert "Unsubscribe: https://mail.campaigns.example/u/freshmart" in out


def test_push_preview_prints_title_body_and_deep_link(
    warehouse: DeltaStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = preview(
        capsys,
        *("--retailer", "fresh-mart", "--template", "winback-push"),
        *("--set", "push_title=Back in stock"),
    )
    assert code == 0, out
    assert "title:     Back in stock" in out
    assert "body:      Come back for fresh picks this week. Code SAMPLE-7Q2X-K9" in out
    assert "deep link: freshmart://home" in out


def test_a_real_customer_from_the_campaigns_events_or_from_the_customers_table(
    warehouse: DeltaStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for customer_id, body in (
        ("c00000", "Come back for fresh picks this week. Code P00000"),  # its ten-percent code
        ("c00001", "Come back for fresh picks this week.\n"),  # control: no offer
    ):
        code, out = preview(
            capsys,
            *("--retailer", "fresh-mart", "--template", "winback-push"),
            *("--campaign", "fresh-mart-winback", "--customer", customer_id),
        )
        assert code == 0, out
        assert f"customer {customer_id} as sent by fresh-mart-winback" in out
        assert f"body:      {body}" in out
    code, out = preview(
        capsys,
        "--retailer",
        "green-grocer",
        "--template",
        "welcome-email",
        "--customer",
        "c00001",
        "--out",
        str(tmp_path),
    )
    assert code == 0, out
    html = (tmp_path / "green-grocer-welcome-email.html").read_text()
    assert "Welcome, Gustav" in html and "Beatrice" not in html


def test_bad_requests_say_what_is_wrong_and_write_nothing(
    warehouse: DeltaStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "previews"
    cases = {
        ("--retailer", "maple-market", "--template", "winback-email"): "does not receive template",
        (
            "--retailer",
            "fresh-mart",
            "--template",
            "winback-email",
            "--campaign",
            "green-grocer-welcome",
        ): "has no campaign 'green-grocer-welcome'",
        (
            "--retailer",
            "maple-market",
            "--template",
            "weekly-deals-email",
            "--customer",
            "c00001",
        ): "not among retailer 'maple-market''s customers",
        ("--retailer", "nobody", "--template", "winback-email"): "unknown retailer 'nobody'",
    }
    for args, message in cases.items():
        code, out = preview(capsys, *args, "--out", str(out_dir))
        assert code == 2 and message in out, out
    assert not out_dir.exists()
