"""Sealing a closed round: what was said keeps its meaning and loses every storage trace of who
said it (surveys/services/sealing.py)."""

import threading
import time
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from surveys.models import Answer, Comment, Participation, Response, Result, Round, RoundStatus
from surveys.services.responses import response_submit
from surveys.services.results import results_publish
from surveys.services.sealing import round_seal
from surveys.tasks import round_aggregate
from tests.support.factories import RoundFactory, SurveyFactory
from tests.support.survey_data import close_round, invite_everyone, question_ids, staff


def _answered_round(tenant, people: int = 12) -> Round:
    """An open round where `people` colleagues answered through the real submission service
    (one transaction each), each with a distinct comment, then closed."""
    round_ = RoundFactory(survey=SurveyFactory(organization=tenant.org))
    questions = question_ids(round_)
    invitations = invite_everyone(round_, staff(tenant.platform, people // 2) + staff(tenant.product, people // 2))
    for position, invitation in enumerate(invitations):
        values = {q: 1 + (position + i) % 5 for i, q in enumerate(questions) if (position + i) % 7}
        response_submit(invitation=invitation, answers=values, comment=f"comment {position:02d}")
    return close_round(round_)


def _seal(tenant, round_: Round) -> bool:
    with tenant.scope():
        return round_seal(round_id=round_.pk)


def _said(round_: Round) -> dict:
    """Everything said in the round, with no keys: what aggregation and the audit can see."""
    answers = Answer.all_organizations.filter(round=round_)
    per_response = Counter(Counter(answers.values_list("response_id", flat=True)).values())
    return {
        "answers": Counter(answers.values_list("team_id", "question_id", "value")),
        "responses": Counter(Response.all_organizations.filter(round=round_).values_list("team_id", flat=True)),
        "answers per response": per_response,
        "comments": Counter(Comment.all_organizations.filter(round=round_).values_list("team_id", "text")),
    }


def _keys(round_: Round) -> set:
    return {
        *Response.all_organizations.filter(round=round_).values_list("id", flat=True),
        *Answer.all_organizations.filter(round=round_).values_list("id", flat=True),
        *Comment.all_organizations.filter(round=round_).values_list("id", flat=True),
    }


def _storage_order_of_comments(round_: Round) -> list[str]:
    position = "ctid" if connection.vendor == "postgresql" else "rowid"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT text FROM surveys_comment WHERE round_id = %s ORDER BY {position}", [round_.pk])
        return [row[0] for row in cursor.fetchall()]


def test_sealing_keeps_what_was_said_and_changes_every_key_and_the_storage_order(
    transactional_db, tenant, other_tenant
):
    round_ = _answered_round(tenant, people=30)
    theirs = _answered_round(other_tenant, people=6)
    their_said, their_keys = _said(theirs), _keys(theirs)
    before, keys = _said(round_), _keys(round_)
    assert _storage_order_of_comments(round_) == sorted(_storage_order_of_comments(round_))  # submission order
    assert _seal(tenant, round_) is True
    assert _said(round_) == before
    assert not (_keys(round_) & keys)
    assert _storage_order_of_comments(round_) != [f"comment {n:02d}" for n in range(30)]
    round_.refresh_from_db()
    assert round_.sealed_at is not None
    assert Participation.all_organizations.filter(round=round_).count() == 30
    # Another organisation's round is left exactly as it was, keys included.
    assert (_said(theirs), _keys(theirs)) == (their_said, their_keys)
    assert Round.all_organizations.get(pk=theirs.pk).sealed_at is None


def test_sealing_breaks_the_link_postgresql_keeps_between_a_participation_and_its_response(
    postgres, transactional_db, tenant, other_tenant
):
    round_ = _answered_round(tenant)
    theirs = _answered_round(other_tenant, people=6)

    def linked(round_) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM surveys_participation p JOIN surveys_response r ON r.xmin = p.xmin "
                "WHERE p.round_id = %s AND r.round_id = %s",
                [round_.pk, round_.pk],
            )
            return cursor.fetchone()[0]

    assert linked(round_) == 12  # the attack: one transaction per submission links person and answers
    _seal(tenant, round_)
    assert linked(round_) == 0
    assert linked(theirs) == 6  # sealing one organisation's round rewrites nothing of another's
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT xmin::text) FROM surveys_response WHERE round_id = %s", [round_.pk])
        assert cursor.fetchone()[0] == 1  # every response now carries the sealing transaction's id


def test_sealing_happens_once_and_never_while_a_round_is_open(tenant, other_tenant):
    open_round = RoundFactory(survey=SurveyFactory(organization=tenant.org))
    assert _seal(tenant, open_round) is False
    theirs = close_round(RoundFactory(survey=SurveyFactory(organization=other_tenant.org)))
    with tenant.scope(), pytest.raises(Round.DoesNotExist):  # scoped to Acme, Globex's round is not there
        round_seal(round_id=theirs.pk)
    open_round.refresh_from_db()
    assert open_round.sealed_at is None
    closed = close_round(RoundFactory(survey=open_round.survey))
    assert _seal(tenant, closed) is True
    assert _seal(tenant, closed) is False


def test_the_aggregation_task_seals_first_and_publishes_the_same_figures(transactional_db, tenant, other_tenant):
    round_ = _answered_round(tenant)
    with tenant.scope():
        results_publish(round_id=round_.pk)
        unsealed = {r.team_id: (r.n, r.invited, r.items) for r in Result.objects.filter(round=round_)}
    keys = _keys(round_)
    theirs = _answered_round(other_tenant, people=6)
    round_aggregate(round_.pk)
    round_.refresh_from_db()
    assert round_.sealed_at is not None and round_.status == RoundStatus.PUBLISHED
    assert Round.all_organizations.get(pk=theirs.pk).sealed_at is None
    assert not (_keys(round_) & keys)
    with tenant.scope():
        assert {r.team_id: (r.n, r.invited, r.items) for r in Result.objects.filter(round=round_)} == unsealed
        assert len(unsealed) >= 2


def test_sealing_an_empty_round_is_harmless(tenant):
    round_ = close_round(RoundFactory(survey=SurveyFactory(organization=tenant.org)))
    assert _seal(tenant, round_) is True
    assert _said(round_)["answers"] == Counter()


def _partitions(round_: Round) -> dict[str, int]:
    """The round's own partitions of what was said, by name, with their storage file's number."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relfilenode FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE c.relname LIKE %s",
            [f"surveys\\_%\\_r{round_.pk}"],
        )
        return dict(cursor.fetchall())


def test_sealing_rewrites_the_rounds_partitions_into_new_files_and_drops_the_old(
    postgres, transactional_db, tenant, other_tenant
):
    round_ = _answered_round(tenant)
    theirs = _answered_round(other_tenant, people=6)
    before, their_before = _partitions(round_), _partitions(theirs)
    assert sorted(before) == [f"surveys_{t}_r{round_.pk}" for t in ("answer", "comment", "response")]
    _seal(tenant, round_)
    after = _partitions(round_)
    assert sorted(after) == sorted(before)
    # New tables: every file the round's rows were written to before is gone, not merely emptied,
    # so no old row version is left for a VACUUM to reclaim.
    assert not set(after.values()) & set(before.values())
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relfilenode = ANY(%s)", [list(before.values())])
        assert cursor.fetchone()[0] == 0
        cursor.execute(f"SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'surveys_answer_r{round_.pk}'")
        assert cursor.fetchone()[0] == 0
    assert _partitions(theirs) == their_before  # another organisation's round is not touched


def test_no_table_of_what_was_said_has_a_default_partition(postgres):
    # A DEFAULT partition is locked by every attach: one organisation's new round would wait on,
    # and make wait, every other's statements that reach it (migration 0020).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, p.partdefid FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = ANY(%s)",
            [["surveys_response", "surveys_answer", "surveys_comment"]],
        )
        assert dict(cursor.fetchall()) == dict.fromkeys(("surveys_response", "surveys_answer", "surveys_comment"), 0)


def test_a_round_is_created_answered_and_sealed_beside_another_organisations_long_transaction(
    postgres, transactional_db, tenant, other_tenant
):
    """Another organisation is in the middle of a long transaction that created a round (its
    partitions attached), wrote what was said and read it back. This organisation's round is
    created, answered, closed and sealed meanwhile without waiting: a lock wait of more than two
    seconds fails the test (lock_timeout) instead of hanging."""
    holding, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def neighbour() -> None:
        try:
            with transaction.atomic(), other_tenant.scope():
                theirs = RoundFactory(survey=SurveyFactory(organization=other_tenant.org))
                Response.objects.create(round=theirs, team=other_tenant.platform)
                assert Response.objects.filter(round=theirs).count() == 1
                holding.set()
                release.wait(60)
        except BaseException as error:
            failures.append(error)
            holding.set()
        finally:
            connection.close()

    thread = threading.Thread(target=neighbour)
    thread.start()
    try:
        assert holding.wait(30) and not failures
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        started = time.monotonic()
        round_ = _answered_round(tenant, people=6)
        assert _seal(tenant, round_) is True
        assert time.monotonic() - started < 30
        assert _said(round_)["responses"] == Counter({tenant.platform.pk: 3, tenant.product.pk: 3})
    finally:
        release.set()
        thread.join(60)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert not failures


def test_a_round_created_inside_a_transaction_has_its_partitions_committed_at_once(postgres, transactional_db, tenant):
    with transaction.atomic(), tenant.scope():
        round_ = RoundFactory(survey=SurveyFactory(organization=tenant.org))
        with connection.cursor() as cursor:  # what this transaction holds on the said tables
            cursor.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE l.pid = pg_backend_pid() AND c.relname LIKE 'surveys\\_%%' "
                "AND l.mode IN ('ShareUpdateExclusiveLock', 'AccessExclusiveLock')"
            )
            assert cursor.fetchone()[0] == 0
    assert len(_partitions(round_)) == 3


def test_sealing_refuses_a_round_of_another_organisation_even_in_sql(postgres, db, tenant, other_tenant):
    theirs = close_round(RoundFactory(survey=SurveyFactory(organization=other_tenant.org)))
    with tenant.scope(), connection.cursor() as cursor, pytest.raises(DatabaseError, match="not of the organisation"):
        cursor.execute("SELECT pulse_seal(%s)", [theirs.pk])


def test_the_seal_benchmark_runs_end_to_end(postgres, transactional_db, question_bank, capsys):
    call_command("benchmark", "seal", "--respondents", "300", "--teams", "20", "--repeat", "1", "--small-repeat", "2")
    out = capsys.readouterr().out
    assert "plain SQL shuffle-and-rewrite (baseline)" in out and "ratio to plain rewrite + GROUP BY" in out
    assert "50-person round beside" in out
    assert not Round.all_organizations.exists()  # it deletes what it built
