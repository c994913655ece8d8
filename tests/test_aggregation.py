"""Publishing a closed round: aggregation end to end, idempotency, concurrency, failure paths,
e-mails to managers, the command, and the Celery task on a real worker."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from surveys import aggregation
from surveys.exceptions import PulseError
from surveys.models import Result, Round, RoundStatus
from surveys.privacy import PrivacyAuditError, Publication
from surveys.services.results import results_publish
from surveys.tasks import round_aggregate
from tests.factories import SurveyFactory, TeamFactory, make_manager
from tests.survey_data import close_round, invite_everyone, question_ids, respond, staff, team_round

ROOT = Path(__file__).resolve().parent.parent


def _rows(round_):
    return sorted(
        Result.all_organizations.filter(round=round_).values_list(
            "team_id", "n", "invited", "items", "comments_released", "covered_teams"
        )
    )


@pytest.fixture
def closed_round(tenant):
    """Platform 6 (all 4s), Product 7 (all 2s), the Engineering manager answering too."""
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6}, value=4, close=False)
        people = staff(tenant.product, 7)
        invite_everyone(round_, people)
        invite_everyone(round_, [tenant.manager])
        questions = question_ids(round_)
        for person in people:
            respond(round_, person, 2, questions=questions, comment="Too many meetings.")
        respond(round_, tenant.manager, 5, questions=questions, comment="Proud of this team.")
        return close_round(round_)


def test_publication_rolls_up_the_subtree_and_publishes(tenant, closed_round, django_capture_on_commit_callbacks):
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        outcome = results_publish(round_id=closed_round.pk)
    closed_round.refresh_from_db()
    assert closed_round.status == RoundStatus.PUBLISHED
    assert closed_round.published_at is not None
    assert outcome.newly_published and outcome.audit.ok
    with tenant.scope():
        results = {r.team.name: r for r in Result.objects.filter(round=closed_round).select_related("team")}
    # Engineering's manager sits alone at an internal node: the smaller child (Platform, 6
    # invited) is suppressed so the manager is never a remainder of one.
    assert set(results) == {"Acme", "Engineering", "Product"}
    engineering = results["Engineering"]
    assert (engineering.n, engineering.invited) == (14, 14)
    first = question_ids(closed_round)[0]
    assert engineering.item_counts()[first] == [0, 7, 0, 6, 1]  # 7 × 2, 6 × 4, 1 × 5
    assert results["Product"].item_counts()[first] == [0, 7, 0, 0, 0]
    assert engineering.comments_released and results["Acme"].comments_released
    assert not results["Product"].comments_released  # 7 < k_comments = 10
    assert sorted(engineering.covered_teams) == sorted([tenant.engineering.pk, tenant.platform.pk, tenant.product.pk])


def test_a_second_run_gives_identical_rows_and_no_second_email(
    tenant, closed_round, django_capture_on_commit_callbacks
):
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        results_publish(round_id=closed_round.pk)
    first, published_at = _rows(closed_round), Round.all_organizations.get(pk=closed_round.pk).published_at
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        again = results_publish(round_id=closed_round.pk)
    assert _rows(closed_round) == first
    assert not again.newly_published
    assert Round.all_organizations.get(pk=closed_round.pk).published_at == published_at
    assert len(mail.outbox) == 1


def test_managers_of_teams_with_results_get_one_email_with_links(
    tenant, closed_round, django_capture_on_commit_callbacks, settings
):
    settings.PULSE_BASE_URL = "https://pulse.example.com"
    with tenant.scope():
        platform_lead = staff(tenant.platform, 1, role="manager")[0]
        make_manager(platform_lead, tenant.platform)  # Platform is suppressed: no e-mail for it
        make_manager(tenant.manager, tenant.product)
        with django_capture_on_commit_callbacks(execute=True):
            results_publish(round_id=closed_round.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [tenant.manager.user.email]
    assert "Results are ready" in message.subject
    for team in (tenant.engineering, tenant.product):
        link = f"https://pulse.example.com/o/acme/teams/{team.pk}/"
        assert link in message.body
        assert link in message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"


def test_an_open_round_is_refused_and_nothing_is_written(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6}, close=False)
        with pytest.raises(PulseError) as refused:
            results_publish(round_id=round_.pk)
        assert refused.value.code == "round_not_closed"
        assert not Result.objects.filter(round=round_).exists()
        round_.refresh_from_db()
        assert round_.status == RoundStatus.OPEN
        # The task logs the refusal and does not retry.
        assert round_aggregate.delay(round_.pk).get() is None


def test_a_failed_audit_blocks_publication(tenant, closed_round, monkeypatch, caplog):
    def everything(**kwargs):  # a broken suppression: publishes every node and every item
        size = len(kwargs["respondents"])
        questions = np.asarray(kwargs["contributors"]).shape[1]
        return Publication(np.ones(size, bool), np.ones((size, questions), bool), np.ones(size, bool))

    with tenant.scope():
        results_publish(round_id=closed_round.pk)  # a good publication first
        monkeypatch.setattr(aggregation, "publication_plan", everything)
        with pytest.raises(PrivacyAuditError):
            results_publish(round_id=closed_round.pk)
        closed_round.refresh_from_db()
        assert closed_round.status == RoundStatus.FAILED
        assert "Privacy audit" in closed_round.failure_reason
        assert "a remainder breaks the suppression rule" in closed_round.failure_reason
        # Fail closed: the earlier good results are gone too.
        assert not Result.objects.filter(round=closed_round).exists()
    assert any(r.levelname == "ERROR" and "NOT published" in r.getMessage() for r in caplog.records)
    # Once fixed, the round can be published again.
    monkeypatch.undo()
    with tenant.scope():
        assert results_publish(round_id=closed_round.pk).audit.ok
        closed_round.refresh_from_db()
        assert closed_round.status == RoundStatus.PUBLISHED


def test_another_organisations_rows_never_count(tenant, other_tenant, closed_round):
    with other_tenant.scope():
        survey = SurveyFactory(organization=other_tenant.org)
        theirs = team_round(survey, {other_tenant.platform: 9}, value=1)
    with tenant.scope():
        results_publish(round_id=closed_round.pk)
        assert Result.objects.get(round=closed_round, team=tenant.root).n == 14
        # Scoped to Acme, Globex's round does not exist.
        with pytest.raises(Round.DoesNotExist):
            results_publish(round_id=theirs.pk)
    assert not Result.all_organizations.filter(round=theirs).exists()


def test_a_forest_with_several_roots(tenant):
    with tenant.scope():
        second_root = TeamFactory(organization=tenant.org, name="Subsidiary")
        branch = TeamFactory(parent=second_root, name="Branch")
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 5, branch: 6})
        results_publish(round_id=round_.pk)
        published = set(Result.objects.filter(round=round_).values_list("team__path", flat=True))
    assert published == {"Acme", "Acme/Engineering", "Acme/Engineering/Platform", "Subsidiary", "Subsidiary/Branch"}


def test_a_survey_limited_to_a_subtree_publishes_nothing_above_it(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org, root_team=tenant.engineering)
        round_ = team_round(survey, {tenant.platform: 5, tenant.product: 5})
        results_publish(round_id=round_.pk)
        published = set(Result.objects.filter(round=round_).values_list("team__path", flat=True))
    assert published == {"Acme/Engineering", "Acme/Engineering/Platform", "Acme/Engineering/Product"}


def test_the_command_publishes_pending_rounds(tenant, closed_round, capsys):
    call_command("round_aggregate", "--pending")
    assert "results published for 3 team nodes" in capsys.readouterr().out
    assert Round.all_organizations.get(pk=closed_round.pk).status == RoundStatus.PUBLISHED
    with pytest.raises(CommandError, match="No round with id 999999"):
        call_command("round_aggregate", "999999")
    with pytest.raises(CommandError):
        call_command("round_aggregate")


def test_the_command_reports_a_round_that_is_still_open(tenant):
    with tenant.scope():
        round_ = team_round(SurveyFactory(organization=tenant.org), {tenant.platform: 5}, close=False)
    with pytest.raises(CommandError, match="not published"):
        call_command("round_aggregate", str(round_.pk))


def test_the_task_publishes_through_the_tenant_scope(tenant, closed_round):
    assert round_aggregate.delay(closed_round.pk).get() == 3
    assert round_aggregate.delay(987654).get() is None  # a deleted round: nothing to do


def test_pending_rounds_are_picked_up_by_the_safety_net(tenant, closed_round):
    from surveys.tasks import rounds_aggregate_pending

    with tenant.scope():
        open_round = team_round(SurveyFactory(organization=tenant.org), {tenant.platform: 5}, close=False)
    assert rounds_aggregate_pending.delay().get() == 1
    assert Round.all_organizations.get(pk=closed_round.pk).status == RoundStatus.PUBLISHED
    assert Round.all_organizations.get(pk=open_round.pk).status == RoundStatus.OPEN
    assert rounds_aggregate_pending.delay().get() == 0


def test_the_benchmark_refuses_sqlite(db):
    if connection.vendor == "postgresql":
        pytest.skip("runs on SQLite only")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("benchmark", "aggregate", "--respondents", "10", "--teams", "2")


# -- PostgreSQL and Redis ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_take_turns_and_agree(postgres, tenant, closed_round):
    with tenant.scope():
        results_publish(round_id=closed_round.pk)
    expected = _rows(closed_round)
    Round.all_organizations.filter(pk=closed_round.pk).update(status=RoundStatus.CLOSED, published_at=None)
    Result.all_organizations.filter(round=closed_round).delete()
    mail.outbox.clear()
    errors, outcomes = [], []
    start = threading.Barrier(2)

    def worker():
        try:
            start.wait()
            with tenant.scope():
                outcomes.append(results_publish(round_id=closed_round.pk))
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert _rows(closed_round) == expected
    # Exactly one of them published the round (and so notified managers once).
    assert sorted(o.newly_published for o in outcomes) == [False, True]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_publishes_a_round_enqueued_on_redis(postgres, redis_broker, tenant, closed_round):
    from wellbeing.celery import app

    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": redis_broker,
        "DJANGO_SETTINGS_MODULE": "wellbeing.settings",
        "PYTHONPATH": str(ROOT),
    }
    queue = f"pulse-test-{os.getpid()}-{time.monotonic_ns()}"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "wellbeing",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        round_aggregate.apply_async((closed_round.pk,), queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and worker.poll() is None:
            if Round.all_organizations.get(pk=closed_round.pk).status == RoundStatus.PUBLISHED:
                break
            time.sleep(0.3)
        status = Round.all_organizations.get(pk=closed_round.pk).status
        assert status == RoundStatus.PUBLISHED, _worker_output(worker)
        assert Result.all_organizations.filter(round=closed_round).count() == 3
    finally:
        app.conf.task_always_eager = eager
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)


def _database_url() -> str:
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return (
        f"postgres://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def _worker_output(worker) -> str:
    worker.terminate()
    try:
        output, _ = worker.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate()
    return output.decode(errors="replace")[-3000:]
