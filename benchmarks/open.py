"""Opening a round for a big organisation, beside the plain `INSERT … SELECT` of its invitations.

Builds an organisation of `--people` people in `--teams` teams (set-based SQL) with a survey,
then times, interleaved and best of `--repeat` (median in brackets):

- **round_open**: HR's "Open now", the whole service in its transaction: the questions frozen,
  one invitation per person with the team they count for, the round's tree and counts per team
  (`RoundTeam`), `k` locked, the next round scheduled, the e-mails queued (queued, as on a
  worker, not sent);
- **plain SQL**: the same invitations written by one `INSERT … SELECT` from the memberships
  and nothing else; the target is round_open at most 1.5× this.

Each repetition puts the round back as it was (scheduled, no invitations). Then round_open once
more beside another organisation's open transaction (benchmarks/neighbour.py), which it must not
wait for. Prints the figures, the ratio, the wait and the load average, then deletes what it built.
"""

from __future__ import annotations

import os
import secrets
import statistics
import time

import numpy as np
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from benchmarks.aggregate import _create_teams, _delete, _timed, _tree
from benchmarks.database import bench_database_check
from benchmarks.neighbour import beside_neighbour, wait_line
from surveys.core.tenancy import organization_scope
from surveys.models import Invitation, Organization, Question, Round, RoundStatus, RoundTeam
from surveys.services.rounds import round_open
from surveys.services.surveys import SurveyFields, survey_create

TARGET = 1.5


def add_arguments(parser) -> None:
    parser.add_argument("--people", type=int, default=125_000)
    parser.add_argument("--teams", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)


def run(*, stdout, people: int, teams: int, repeat: int, seed: int, **options) -> None:
    bench_database_check("open")
    from wellbeing.celery import app

    started = time.perf_counter()
    organization, round_ = _build(np.random.default_rng(seed), people=people, teams=teams)
    stdout.write(f"{people:,} people in {teams:,} teams (built in {time.perf_counter() - started:.0f} s)")
    load_before = os.getloadavg()
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    timings: dict[str, list[float]] = {"round_open": [], "plain": []}
    try:
        steps = {"round_open": lambda: _open(organization, round_), "plain": lambda: _plain(organization, round_)}
        for step in steps.values():  # warm both
            step()
            _reset(organization, round_)
        for repetition in range(repeat):
            order = list(steps.items()) if repetition % 2 == 0 else list(reversed(steps.items()))
            for name, step in order:
                timings[name].append(_timed(step))
                _reset(organization, round_)
        beside = beside_neighbour(steps["round_open"])
        _reset(organization, round_)
    finally:
        app.conf.task_always_eager = eager
        _delete(organization)
    ratio = min(timings["round_open"]) / min(timings["plain"])
    for name, label in (("round_open", "round_open (the service)"), ("plain", "plain INSERT … SELECT (baseline)")):
        values = timings[name]
        stdout.write(f"  {label:34} {min(values) * 1000:8.1f} ms ({statistics.median(values) * 1000:.1f})")
    verdict = "met" if ratio <= TARGET else "NOT met"
    stdout.write(f"  ratio {ratio:.2f}x (target at most {TARGET}x): {verdict}")
    stdout.write(wait_line("round_open", alone=min(timings["round_open"]), beside=beside))
    stdout.write(
        f"best of {repeat}, median in brackets; load average {load_before[0]:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after ({os.cpu_count()} CPUs)"
    )


def _build(rng: np.random.Generator, *, people: int, teams: int) -> tuple[Organization, Round]:
    tag = secrets.token_hex(4)
    with transaction.atomic():
        organization = Organization.objects.create(name=f"Benchmark {tag}", slug=f"benchmark-{tag}")
        with organization_scope(organization):
            team_ids = _create_teams(organization, _tree(rng, teams))
            person_team = rng.choice(np.asarray(team_ids, dtype=np.int64), size=people)
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO surveys_user (password, is_superuser, email, name, is_active, is_staff, date_joined) "
                    "SELECT '!', false, 'bench-' || %s || '-' || g || '@example.test', '', true, false, now() "
                    "FROM generate_series(1, %s) g ORDER BY g RETURNING id",
                    [tag, people],
                )
                user_ids = sorted(row[0] for row in cursor.fetchall())
                cursor.execute(
                    "INSERT INTO surveys_membership (organization_id, user_id, role, team_id, is_active, created_at) "
                    "SELECT %s, u, 'employee', t, true, now() FROM unnest(%s::bigint[], %s::bigint[]) AS x(u, t)",
                    [organization.pk, user_ids, person_team.tolist()],
                )
            survey = survey_create(
                organization=organization,
                created_by=None,
                launch=True,
                fields=SurveyFields(
                    name="Benchmark pulse",
                    questions=list(Question.objects.filter(organization=None, is_core=True)),
                    cadence="biweekly",
                    open_days=5,
                    starts_on=timezone.localdate(),
                ),
            )
            round_ = Round.objects.get(survey=survey, status=RoundStatus.SCHEDULED)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE surveys_membership, surveys_user, surveys_team")
    return organization, round_


def _open(organization: Organization, round_: Round) -> None:
    with organization_scope(organization):
        opened = round_open(round_=Round.objects.get(pk=round_.pk))
    if opened.status != RoundStatus.OPEN or opened.invited_count == 0:
        raise CommandError("round_open did not open the round")


def _plain(organization: Organization, round_: Round) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO surveys_invitation "
            "(organization_id, round_id, membership_id, team_id, token_hash, previous_token_hash) "
            "SELECT organization_id, %s, id, team_id, md5(random()::text) || md5(random()::text), '' "
            "FROM surveys_membership WHERE organization_id = %s AND is_active AND team_id IS NOT NULL",
            [round_.pk, organization.pk],
        )


def _reset(organization: Organization, round_: Round) -> None:
    """The round scheduled again, with no invitations, and no round scheduled after it."""
    with transaction.atomic(), organization_scope(organization):
        Invitation.objects.filter(round_id=round_.pk).delete()
        RoundTeam.objects.filter(round_id=round_.pk).delete()
        Round.objects.filter(survey_id=round_.survey_id, number__gt=round_.number).delete()
        Round.objects.filter(pk=round_.pk).update(
            status=RoundStatus.SCHEDULED, opened_at=None, invited_count=0, k=None, k_comments=None
        )
