"""Services queue tasks through one helper (surveys.core.enqueue): after commit, by name, and a
broker that is down never fails or undoes the work that asked for the task."""

from surveys.core.enqueue import enqueue
from surveys.models import AWAITING_PUBLICATION_STATES, Round, RoundStatus
from surveys.services.rounds import round_close
from tests.support.factories import RoundFactory, SurveyFactory


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
