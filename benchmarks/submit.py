"""Submissions per second through the real answering view, beside plain SQL writing the same rows.

Builds a throwaway organisation with an open 10-item round and invitations (in bulk), then:
- full path: POSTs a realistic form (10 answers and a comment) to /answer/<org>/<token>/ with
  Django's test client: URL routing, middleware, the gatekeeper, the form, `response_submit` and
  its one transaction; the redirect to the thanks page is not followed;
- baseline: psycopg alone, one transaction per submission writing the same rows (participation,
  response, 10 answers in one INSERT, comment).
Needs PostgreSQL. Everything it creates is deleted at the end, and nothing else is touched.
"""

import datetime as dt
import random
import secrets
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from urllib.parse import urlencode

import psycopg
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from benchmarks.database import bench_database_check
from surveys.core.tokens import invitation_path, token_hash, token_new
from surveys.models import (
    Answer,
    Comment,
    Invitation,
    Membership,
    Organization,
    Participation,
    Question,
    Response,
    Round,
    RoundQuestion,
    RoundStatus,
    Survey,
    SurveyQuestion,
    Team,
    User,
)

WARM_UP = 20
BATCH = 25
FORM_ENCODED = "application/x-www-form-urlencoded"
COMMENTS = (
    "Planning meetings run long and eat into focus time; shorter stand-ups and a clear agenda would help the "
    "whole team. The new release process is much better than last quarter.",
    "Workload has been heavy since the migration started. I would like clearer priorities from week to week "
    "and fewer last-minute requests on Fridays.",
)


def add_arguments(parser) -> None:
    parser.add_argument("--submissions", type=int, default=500, help="Submissions measured each way (default 500).")


def run(*, stdout, submissions: int = 500, **options) -> None:
    bench_database_check("submit")
    if submissions < 1:
        raise CommandError("--submissions must be at least 1.")
    bench = _setup(count=2 * (submissions + WARM_UP) + 1)
    try:
        stdout.write(
            f"benchmark submit: {submissions} submissions each way, 10 answers and a ~200-character comment each\n"
            f"  organisation {bench.org.slug} (throwaway), PostgreSQL {getattr(connection, 'pg_version', 0) // 10000}, "
            f"{WARM_UP} warm-up submissions each way not counted, then batches of {BATCH} alternating\n"
        )
        with ExitStack() as stack:
            view_rate, sql_rate, queries = _measure(bench, submissions, stack)
        _check_rows(bench, expected=2 * (submissions + WARM_UP) + 1)
        stdout.write(
            "  full path: Django test client POST /answer/<org>/<token>/ (real view, middleware, gatekeeper, "
            "form, response_submit; redirect not followed; DEBUG off)\n"
            f"    {view_rate:8.1f} submissions/s  ({1000 / view_rate:.2f} ms each, {queries} queries each)\n"
            "  plain SQL: psycopg, one transaction per submission: participation, response, 10 answers (one "
            "INSERT), comment\n"
            f"    {sql_rate:8.1f} submissions/s  ({1000 / sql_rate:.2f} ms each)\n"
            f"  ratio: full path = {100 * view_rate / sql_rate:.0f}% of plain SQL (target: at least 25%)\n"
        )
    finally:
        _cleanup(bench)
        stdout.write(f"  cleaned up: organisation {bench.org.slug} and its {len(bench.user_ids)} users deleted\n")


@dataclass
class Bench:
    org: Organization
    team: Team
    round: Round
    question_ids: list[int]
    membership_ids: list[int]
    tokens: list[str]
    user_ids: list[int]


def _setup(*, count: int) -> Bench:
    slug = f"bench-submit-{secrets.token_hex(4)}"
    now = timezone.now()
    with transaction.atomic():
        org = Organization.objects.create(name=f"Benchmark {slug}", slug=slug)
        root = Team.all_organizations.create(organization=org, name="Benchmark", path="Benchmark")
        team = Team.all_organizations.create(organization=org, name="Team", parent=root, path="Benchmark/Team")
        survey = Survey.all_organizations.create(organization=org, name="Benchmark pulse")
        questions = list(Question.all_organizations.filter(organization=None, is_core=True).order_by("position"))
        SurveyQuestion.all_organizations.bulk_create(
            SurveyQuestion(organization=org, survey=survey, question=q, position=i) for i, q in enumerate(questions)
        )
        round_ = Round.all_organizations.create(
            organization=org,
            survey=survey,
            number=1,
            status=RoundStatus.OPEN,
            opens_at=now - dt.timedelta(hours=1),
            closes_at=now + dt.timedelta(days=1),
            k=org.k,
            k_comments=org.k_comments,
            opened_at=now,
        )
        RoundQuestion.all_organizations.bulk_create(
            RoundQuestion(organization=org, round=round_, question=q, position=i) for i, q in enumerate(questions)
        )
        password = make_password(None)
        users = User.objects.bulk_create(
            User(email=f"{slug}-{i}@bench.invalid", password=password) for i in range(count)
        )
        memberships = Membership.all_organizations.bulk_create(
            Membership(organization=org, user=user, team=team) for user in users
        )
        tokens = [token_new() for _ in memberships]
        Invitation.all_organizations.bulk_create(
            Invitation(organization=org, round=round_, membership=m, team=team, token_hash=token_hash(t))
            for m, t in zip(memberships, tokens, strict=True)
        )
    return Bench(
        org=org,
        team=team,
        round=round_,
        question_ids=[q.pk for q in questions],
        membership_ids=[m.pk for m in memberships],
        tokens=tokens,
        user_ids=[u.pk for u in users],
    )


def _form(bench: Bench, rng: random.Random) -> dict[str, str]:
    data = {f"q{qid}": str(rng.randint(1, 5)) for qid in bench.question_ids}
    data["comment"] = rng.choice(COMMENTS)
    return data


def _measure(bench: Bench, submissions: int, stack: ExitStack) -> tuple[float, float, int]:
    """Both paths in alternating batches, so a busy moment on the machine hits both alike."""
    paths = {"view": _view_submitter(bench, submissions, stack), "sql": _sql_submitter(bench, submissions, stack)}
    for submit in paths.values():
        for _ in range(WARM_UP):
            submit()
    statements: list[str] = []

    def record(execute, sql, *args):
        statements.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(record):
        paths["view"]()
    elapsed = dict.fromkeys(paths, 0.0)
    done = 0
    while done < submissions:
        batch = min(BATCH, submissions - done)
        for name, submit in paths.items():
            started = time.perf_counter()
            for _ in range(batch):
                submit()
            elapsed[name] += time.perf_counter() - started
        done += batch
    return submissions / elapsed["view"], submissions / elapsed["sql"], len(statements)


def _view_submitter(bench: Bench, submissions: int, stack: ExitStack) -> Callable[[], None]:
    rng = random.Random(1)
    client = Client()
    tokens = iter(bench.tokens[: submissions + WARM_UP + 1])
    stack.enter_context(override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]))

    def submit() -> None:
        path = invitation_path(org_slug=bench.org.slug, token=next(tokens))
        # Encoded as a browser sends a form without files (not the test client's default multipart).
        response = client.post(path, urlencode(_form(bench, rng)), content_type=FORM_ENCODED)
        if response.status_code != 302:
            raise CommandError(f"the answering view answered {response.status_code} instead of redirecting")

    return submit


def _sql_submitter(bench: Bench, submissions: int, stack: ExitStack) -> Callable[[], None]:
    rng = random.Random(2)
    db = settings.DATABASES["default"]
    params = {"dbname": db["NAME"], "user": db["USER"], "password": db["PASSWORD"], "host": db["HOST"]}
    params["port"] = db.get("PORT")
    sql = stack.enter_context(psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True))
    org, round_, team = bench.org.pk, bench.round.pk, bench.team.pk
    answers_sql = (
        f"INSERT INTO {Answer._meta.db_table} "
        "(id, organization_id, response_id, round_id, team_id, question_id, value) VALUES "
        + ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(bench.question_ids))
    )
    people = iter(bench.membership_ids[submissions + WARM_UP + 1 :])

    def submit() -> None:
        response_id = uuid.uuid4()
        with sql.transaction(), sql.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Participation._meta.db_table} (organization_id, round_id, membership_id) "
                "VALUES (%s, %s, %s)",
                (org, round_, next(people)),
            )
            cursor.execute(
                f"INSERT INTO {Response._meta.db_table} (id, organization_id, round_id, team_id) "
                "VALUES (%s, %s, %s, %s)",
                (response_id, org, round_, team),
            )
            rows = []
            for qid in bench.question_ids:
                rows += [uuid.uuid4(), org, response_id, round_, team, qid, rng.randint(1, 5)]
            cursor.execute(answers_sql, rows)
            cursor.execute(
                f"INSERT INTO {Comment._meta.db_table} (id, organization_id, round_id, team_id, text) "
                "VALUES (%s, %s, %s, %s, %s)",
                (uuid.uuid4(), org, round_, team, rng.choice(COMMENTS)),
            )

    return submit


def _check_rows(bench: Bench, *, expected: int) -> None:
    """Both paths must have written what they claim: one participation and one response each."""
    scope = {"organization": bench.org}
    found = (
        Participation.all_organizations.filter(**scope).count(),
        Response.all_organizations.filter(**scope).count(),
        Answer.all_organizations.filter(**scope).count(),
        Comment.all_organizations.filter(**scope).count(),
    )
    wanted = (expected, expected, expected * len(bench.question_ids), expected)
    if found != wanted:
        raise CommandError(f"rows written {found} differ from the submissions made {wanted}")


def _cleanup(bench: Bench) -> None:
    with transaction.atomic():
        # What was said first (it restricts team deletion), then the organisation cascades.
        for model in (Answer, Comment, Response):
            model.all_organizations.filter(organization=bench.org).delete()
        Team.all_organizations.filter(organization=bench.org).update(parent=None)
        bench.org.delete()
        User.objects.filter(pk__in=bench.user_ids).delete()
