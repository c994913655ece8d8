"""Services queue tasks through one helper (surveys.core.enqueue): after commit, by name, and a
broker that is down never fails or undoes the work that asked for the task."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

from surveys.core.enqueue import UnknownTaskError, enqueue
from surveys.models import AWAITING_PUBLICATION_STATES, Round, RoundStatus
from surveys.services.rounds import round_close
from tests.support.factories import RoundFactory, SurveyFactory
from wellbeing.celery import app

SURVEYS = Path(__file__).resolve().parent.parent / "surveys"
DELIVERY = SURVEYS.parent / "delivery"


def test_nothing_is_queued_before_the_transaction_commits(tenant, django_capture_on_commit_callbacks, enqueued):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue("surveys.tasks.round_aggregate", 42)
    assert enqueued == [] and len(callbacks) == 1
    callbacks[0]()
    assert enqueued == [("surveys.tasks.round_aggregate", (42,))]


def test_a_close_stands_when_the_broker_is_down_and_the_safety_net_finds_the_round(
    tenant, broker_down, django_capture_on_commit_callbacks, caplog
):
    round_ = RoundFactory(survey=SurveyFactory(organization=tenant.org))
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        round_close(round_=round_)
    assert broker_down.calls == ["surveys.tasks.round_aggregate"]
    assert Round.all_organizations.get(pk=round_.pk).status == RoundStatus.CLOSED
    assert any("safety net will pick it up" in record.getMessage() for record in caplog.records)
    pending = Round.all_organizations.filter(status__in=AWAITING_PUBLICATION_STATES).values_list("pk", flat=True)
    assert list(pending) == [round_.pk]  # what rounds_aggregate_pending queues again


def _queued_names() -> list[tuple[str, object]]:
    """Every `enqueue(...)` call in surveys/ and delivery/ with its first argument (a name, when a
    literal)."""
    calls = []
    for path in sorted([*SURVEYS.rglob("*.py"), *DELIVERY.rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            called = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if called == "enqueue":
                first = node.args[0]
                calls.append((str(path.relative_to(SURVEYS.parent)), getattr(first, "value", first)))
    return calls


def test_every_task_the_code_queues_or_beat_schedules_is_registered():
    calls = _queued_names()
    assert len(calls) >= 10
    assert [call for call in calls if not isinstance(call[1], str)] == []  # names are literals: checkable
    named = {name for _, name in calls} | {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert sorted(named - set(app.tasks)) == []


def test_in_process_an_unknown_task_name_fails_loudly_before_anything_is_committed(tenant, enqueued):
    with pytest.raises(UnknownTaskError, match="surveys.tasks.round_agregate"):
        enqueue("surveys.tasks.round_agregate", 42)
    assert enqueued == []
