"""Publishing a closed round: aggregation end to end, idempotency, concurrency, failure paths,
e-mails to managers, the command, and the Celery task on a real worker."""

import dataclasses
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Count

from surveys.core.exceptions import PulseError
from surveys.core.phases import phases_recorded
from surveys.engine import aggregation
from surveys.models import Answer, Invitation, Organization, Response, Result, Round, RoundStatus, RoundTeam, Team
from surveys.privacy.audit import PrivacyAuditError, audit_round
from surveys.services.results import results_publish
from surveys.tasks import round_aggregate
from tests.support.concurrency import at_once
from tests.support.factories import SurveyFactory, TeamFactory, make_manager
from tests.support.survey_data import close_round, invite_everyone, question_ids, respond, staff, team_round

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
    # Engineering's manager sits alone at an internal node: the reporting units count them
    # with the smaller of the two teams they lead, Platform, so every team is shown on its own.
    assert set(results) == {"Acme", "Engineering", "Platform", "Product"}
    engineering = results["Engineering"]
    assert (engineering.n, engineering.invited) == (14, 14)
    first = question_ids(closed_round)[0]
    assert engineering.item_counts()[first] == [0, 7, 0, 6, 1]  # 7 × 2, 6 × 4, 1 × 5
    assert results["Product"].item_counts()[first] == [0, 7, 0, 0, 0]
    assert results["Platform"].item_counts()[first] == [0, 0, 0, 6, 1]
    assert sorted(results["Platform"].covered_teams) == sorted([tenant.engineering.pk, tenant.platform.pk])
    assert not any(result.partial for result in results.values())
    assert engineering.comments_released and results["Acme"].comments_released
    assert not results["Product"].comments_released  # 7 < k_comments = 10
    assert sorted(engineering.covered_teams) == sorted([tenant.engineering.pk, tenant.platform.pk, tenant.product.pk])


def test_a_second_run_gives_identical_rows_and_no_second_email(
    tenant, closed_round, django_capture_on_commit_callbacks
):
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        results_publish(round_id=closed_round.pk)
    assert len(mail.outbox) == 3
    first, published_at = _rows(closed_round), Round.all_organizations.get(pk=closed_round.pk).published_at
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        again = results_publish(round_id=closed_round.pk)
    assert _rows(closed_round) == first
    assert not again.newly_published
    assert Round.all_organizations.get(pk=closed_round.pk).published_at == published_at
    assert len(mail.outbox) == 3  # the lead, HR and the admin: once


def test_leads_of_every_team_in_the_round_and_hr_get_one_email_each(
    tenant, django_capture_on_commit_callbacks, settings
):
    settings.PULSE_BASE_URL = "https://pulse.example.com"
    with tenant.scope():
        lone = TeamFactory(parent=tenant.engineering, name="Lone")
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(
            survey, {tenant.platform: 6, tenant.product: 7, lone: 6}, answered={lone: 2}, value=4, close=False
        )
        platform_lead = staff(tenant.platform, 1, role="manager")[0]
        lone_lead = staff(tenant.product, 1, role="manager")[0]
        make_manager(platform_lead, tenant.platform)
        make_manager(lone_lead, lone)  # Lone is hidden: its lead hears why
        make_manager(tenant.manager, tenant.product)
        close_round(round_)
        with django_capture_on_commit_callbacks(execute=True):
            results_publish(round_id=round_.pk)
    by_person = {message.to[0]: message for message in mail.outbox}
    assert sorted(by_person) == sorted(
        [
            tenant.manager.user.email,
            platform_lead.user.email,
            lone_lead.user.email,
            tenant.hr.user.email,
            tenant.admin.user.email,
        ]
    )
    message = by_person[tenant.manager.user.email]
    assert message.subject == f"Results are ready: {round_.survey.name}, round {round_.number}"
    for team in (tenant.engineering, tenant.product):
        link = f"https://pulse.example.com/o/acme/teams/{team.pk}/?round={round_.pk}"
        assert link in message.body
        assert link in message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"
    assert "- Engineering: results of its own (partial: 1 team below is not in it)" in message.body
    hidden = by_person[lone_lead.user.email].body
    assert "- Lone: no figures of its own: fewer than 5 of its 6 people answered; its answers are in no figures." in (
        hidden
    )
    assert "a team of fewer than 5 people is counted with another" in hidden
    assert "- Platform: results of its own" in by_person[platform_lead.user.email].body
    overview = by_person[tenant.hr.user.email].body
    assert "Across Acme:" in overview and f"https://pulse.example.com/o/acme/results/?round={round_.pk}" in overview
    assert "Your team" not in overview


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
    real = aggregation.publication_plan

    def everything(**kwargs):  # a broken rule: every node's comments released
        return dataclasses.replace(real(**kwargs), comments=np.ones(len(kwargs["parent"]), dtype=bool))

    with tenant.scope():
        monkeypatch.setattr(aggregation, "publication_plan", everything)
        with pytest.raises(PrivacyAuditError):
            results_publish(round_id=closed_round.pk)
        closed_round.refresh_from_db()
        assert closed_round.status == RoundStatus.FAILED
        assert "Privacy audit" in closed_round.failure_reason
        assert "comments released below k_comments" in closed_round.failure_reason
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
    assert "results published for 4 team nodes" in capsys.readouterr().out
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
    assert round_aggregate.delay(closed_round.pk).get() == 4
    assert round_aggregate.delay(987654).get() is None  # a deleted round: nothing to do


def test_pending_rounds_are_picked_up_by_the_safety_net(tenant, closed_round, django_capture_on_commit_callbacks):
    from surveys.tasks import rounds_aggregate_pending

    with tenant.scope():
        open_round = team_round(SurveyFactory(organization=tenant.org), {tenant.platform: 5}, close=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert rounds_aggregate_pending.delay().get() == 1
    assert Round.all_organizations.get(pk=closed_round.pk).status == RoundStatus.PUBLISHED
    assert Round.all_organizations.get(pk=open_round.pk).status == RoundStatus.OPEN
    assert rounds_aggregate_pending.delay().get() == 0


def test_the_benchmark_refuses_sqlite(db):
    if connection.vendor == "postgresql":
        pytest.skip("runs on SQLite only")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("benchmark", "aggregate", "--respondents", "10", "--teams", "2")


def test_the_audit_checks_the_exact_rows_before_anything_is_written(tenant, closed_round, monkeypatch):
    real_table, written = aggregation._result_table, []

    def one_answer_more(*args):
        table = real_table(*args)
        table.item_counts[0, 0, 0] += 1  # what a serialisation or roll-up slip would do
        return table

    monkeypatch.setattr(aggregation, "_result_table", one_answer_more)
    monkeypatch.setattr(aggregation, "results_write", lambda *args: written.append(args))
    with tenant.scope(), pytest.raises(PrivacyAuditError, match="counts differ from the raw answers"):
        results_publish(round_id=closed_round.pk)
    assert written == []
    assert Round.all_organizations.get(pk=closed_round.pk).status == RoundStatus.FAILED


def test_invited_people_come_from_the_snapshot_taken_when_the_round_opened(tenant, closed_round):
    with tenant.scope():
        # The snapshot, not the invitations, is what aggregation reads.
        RoundTeam.objects.filter(round=closed_round, team=tenant.product).update(invited=9)
        assert [n for team, n in aggregation.round_inputs(closed_round).leaf.invited if team == tenant.product.pk] == [
            9
        ]
        RoundTeam.objects.filter(round=closed_round, team=tenant.product).update(invited=7)
        # Someone leaves the organisation before the close: their invitation goes, the fact that
        # they were invited when the round opened does not.
        leaver = Invitation.objects.filter(round=closed_round, team=tenant.product).first().membership
        leaver.delete()
        results_publish(round_id=closed_round.pk)
        assert Result.objects.get(round=closed_round, team=tenant.root).invited == 14
        assert audit_round(closed_round).ok


def test_the_one_statement_read_returns_what_plain_queries_return(tenant, other_tenant, closed_round):
    with other_tenant.scope():  # a second organisation's rows must not leak into the read
        team_round(SurveyFactory(organization=other_tenant.org), {other_tenant.platform: 6}, value=1)
    with tenant.scope():
        inputs = aggregation.round_inputs(closed_round)
        histogram = (
            Answer.objects.filter(round=closed_round)
            .values_list("team_id", "question_id", "value")
            .annotate(n=Count("id"))
            .order_by()
        )
        respondents = Response.objects.filter(round=closed_round).values_list("team_id").annotate(n=Count("id"))
        invited = Invitation.objects.filter(round=closed_round).values_list("team_id").annotate(n=Count("id"))
        frozen = RoundTeam.objects.filter(round=closed_round).values_list("team_id", "parent_id")
        teams = Team.objects.values_list("id", "parent_id")
        assert sorted(map(tuple, inputs.leaf.histogram.tolist())) == sorted(histogram)
        assert sorted(map(tuple, inputs.leaf.respondents.tolist())) == sorted(respondents.order_by())
        # Every team of the scope is in the snapshot; those nobody was invited in count zero.
        assert sorted((t, n) for t, n in inputs.leaf.invited.tolist() if n) == sorted(invited.order_by())
        assert sorted(map(tuple, inputs.teams.tolist())) == sorted((t, p or 0) for t, p in frozen)
        # Nothing moved since the round opened: the frozen tree is the organisation's tree.
        assert sorted((t, p or 0) for t, p in frozen) == sorted((t, p or 0) for t, p in teams)
    assert inputs.question_ids == question_ids(closed_round)


def test_the_read_of_a_round_with_no_answers_is_empty_not_an_error(tenant):
    with tenant.scope():
        round_ = team_round(SurveyFactory(organization=tenant.org), {tenant.platform: 6}, answered={tenant.platform: 0})
        inputs = aggregation.round_inputs(round_)
        assert inputs.leaf.histogram.shape == (0, 4)
        assert inputs.leaf.respondents.shape == (0, 2)
        assert {team: n for team, n in inputs.leaf.invited.tolist() if n} == {tenant.platform.pk: 6}
        outcome = results_publish(round_id=round_.pk)
    assert (outcome.teams_published, outcome.items_published) == (0, 0)
    assert Round.all_organizations.get(pk=round_.pk).status == RoundStatus.PUBLISHED


def test_the_binary_readers_refuse_what_they_do_not_understand():
    from surveys.core import int_tables

    with pytest.raises(ValueError):
        int_tables._binary_copy_row(b"not a copy stream\xff\xff", 1)
    header = int_tables._COPY_SIGNATURE + bytes(8)
    two_fields = header + b"\x00\x02" + b"\xff\xff\xff\xff" * 2 + b"\xff\xff"
    assert int_tables._binary_copy_row(two_fields, 2) == [None, None]
    with pytest.raises(ValueError):
        int_tables._binary_copy_row(two_fields, 3)
    one_dimension = struct.pack(">iiIii", 1, 0, 20, 1, 1) + struct.pack(">iq", 8, 7)
    with pytest.raises(ValueError):
        int_tables._bigint_array(memoryview(one_dimension), 1)
    two_by_one = struct.pack(">iiIiiii", 2, 0, 20, 2, 1, 1, 1) + struct.pack(">iqiq", 8, 7, 8, 9)
    assert int_tables._bigint_array(memoryview(two_by_one), 1).tolist() == [[7], [9]]
    with pytest.raises(ValueError):
        int_tables._bigint_array(memoryview(two_by_one), 2)


def test_the_phases_of_a_publication_can_be_timed(tenant, closed_round, django_capture_on_commit_callbacks):
    with tenant.scope(), phases_recorded() as phases, django_capture_on_commit_callbacks(execute=True):
        results_publish(round_id=closed_round.pk)
    assert {"lock the round", "read (one statement)", "audit", "write (COPY)"} <= set(phases)
    assert all(seconds >= 0 for seconds in phases.values())


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

    def publish():
        with tenant.scope():
            return results_publish(round_id=closed_round.pk)

    outcomes, errors = at_once(publish)
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
        assert Result.all_organizations.filter(round=closed_round).count() == 4
    finally:
        app.conf.task_always_eager = eager
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)


@pytest.mark.postgres
def test_the_copy_payload_stores_exactly_the_rows_the_audit_checked(postgres, tenant, closed_round):
    with tenant.scope():
        results_publish(round_id=closed_round.pk)
        closed_round.refresh_from_db()
        audited = aggregation.round_aggregate_rows(closed_round).results.rows()
    expected = sorted(
        (r["team_id"], r["n"], r["invited"], r["items"], r["comments_released"], r["covered_teams"]) for r in audited
    )
    assert _rows(closed_round) == expected
    assert all(isinstance(count, int) for row in expected for counts in row[3].values() for count in counts)


@pytest.mark.postgres
def test_the_read_scans_only_the_rounds_own_partitions(postgres, tenant, closed_round):
    params = {"organization": tenant.org.pk, "round": closed_round.pk}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(aggregation.READ_PLAN)
        scanned = set()
        for query, _ in aggregation.INPUT_SQL.values():
            cursor.execute(f"EXPLAIN {query}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            scanned |= {line.split(" on ")[1].split()[0] for line in plan.splitlines() if " Scan on " in line}
            assert "JIT" not in plan
    said = {name for name in scanned if name.startswith(("surveys_answer", "surveys_response"))}
    assert said == {f"surveys_answer_r{closed_round.pk}", f"surveys_response_r{closed_round.pk}"}


@pytest.mark.postgres
def test_the_aggregate_benchmark_runs_end_to_end(postgres, transactional_db, question_bank, capsys):
    call_command("benchmark", "aggregate", "--respondents", "300", "--teams", "25", "--repeat", "1")
    out = capsys.readouterr().out
    assert "ratio to the bare GROUP BY, executed and fetched (its faster plan)" in out and "strictest baseline" in out
    assert "invitation snapshot per team" in out
    assert "audit" in out and "commit" in out
    assert not Organization.objects.filter(slug__startswith="benchmark-").exists()


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
