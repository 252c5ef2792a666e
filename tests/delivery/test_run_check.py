"""`campaigns check-run`: the verdict on a launched run that Airflow's last launch task gives."""

from __future__ import annotations

from collections import Counter

from jobs.delivery.run_check import run_problems


def test_a_fully_recorded_run_with_few_failures_passes() -> None:
    counts = Counter({"sent": 96, "failed": 2, "suppressed": 10})
    assert run_problems(108, counts, max_failed_share=0.05, allow_pending=False) == []


def test_messages_without_a_status_mean_delivery_has_not_finished() -> None:
    [problem] = run_problems(120, Counter({"sent": 100}), 0.05, allow_pending=False)
    assert problem == "20 events have no recorded status: run `campaigns deliver`"


def test_deferred_messages_pass_only_when_caps_are_expected_to_hold_them() -> None:
    counts = Counter({"sent": 60, "deferred": 40})
    [problem] = run_problems(100, counts, 0.05, allow_pending=False)
    assert problem.startswith("40 messages are deferred or paused")
    assert run_problems(100, counts, 0.05, allow_pending=True) == []


def test_too_many_failures_fail_the_run_and_say_where_to_look() -> None:
    [problem] = run_problems(100, Counter({"sent": 90, "failed": 10}), 0.05, allow_pending=False)
    assert problem.startswith("10.0% of messages failed (more than 5%)")
    assert "message_sends.reason" in problem


def test_a_run_that_wrote_no_events_fails() -> None:
    assert run_problems(0, Counter(), 0.05, allow_pending=False)[0].startswith("no events")
