"""Aggregate a big closed round end to end, beside the bare GROUP BY any aggregation must run.

Builds its own organisation (a random team tree, people, invitations, responses with about ten
answers each, some skipped items, some comments) with set-based SQL, times `round_aggregate`
(histogram query, roll-up, suppression, audit, Results written) and the bare query, each warmed
once and best of `--repeat`, prints both, their ratio and peak memory, then deletes its data.
"""

from __future__ import annotations

import gc
import resource
import secrets
import time
import tracemalloc

import numpy as np
from django.core.management.base import CommandError
from django.db import connection, transaction

from surveys.aggregation import HISTOGRAM_SQL
from surveys.models import Organization, Question, Round, RoundQuestion, RoundStatus, Survey, SurveyQuestion, Team
from surveys.tenancy import organization_scope

MAX_DEPTH = 5
TARGET_RATIO = 1.5


def add_arguments(parser) -> None:
    parser.add_argument("--respondents", type=int, default=100_000)
    parser.add_argument("--teams", type=int, default=2000)
    parser.add_argument("--response-rate", type=float, default=0.8, help="Respondents / invited.")
    parser.add_argument("--skip-rate", type=float, default=0.03, help="Share of items left unanswered.")
    parser.add_argument("--repeat", type=int, default=3, help="Timed runs of each; the best is kept.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="Leave the organisation in the database.")


def run(*, stdout, respondents, teams, response_rate, skip_rate, repeat, seed, keep, **options) -> None:
    if connection.vendor != "postgresql":
        raise CommandError("benchmark aggregate needs PostgreSQL: set DATABASE_URL=postgres://… (SQLite is not timed).")
    if respondents < 1 or teams < 1 or not 0 < response_rate <= 1:
        raise CommandError("Use at least one respondent and one team, and a response rate in (0, 1].")
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    round_ = _build(rng, respondents=respondents, teams=teams, response_rate=response_rate, skip_rate=skip_rate)
    stdout.write(f"Built {_describe(round_)} in {time.perf_counter() - started:.1f} s.")
    try:
        _measure(stdout, round_, repeat=max(1, repeat))
    finally:
        if keep:
            stdout.write(f"Kept organisation {round_.organization.slug} (round {round_.pk}).")
        else:
            _delete(round_.organization)


def _measure(stdout, round_: Round, *, repeat: int) -> None:
    from surveys.tasks import round_aggregate
    from wellbeing.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the results-ready notice runs in process (nobody to e-mail)
    params = [round_.organization_id, round_.pk]

    def bare() -> None:
        with connection.cursor() as cursor:
            cursor.execute(HISTOGRAM_SQL, params)
            cursor.fetchall()

    def reset() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM surveys_result WHERE round_id = %s", [round_.pk])
            cursor.execute(
                "UPDATE surveys_round SET status = %s, published_at = NULL WHERE id = %s",
                [RoundStatus.CLOSED, round_.pk],
            )

    def publish() -> None:
        round_aggregate(round_.pk)

    try:
        # Interleaved, so a busy neighbour on the machine slows both alike.
        bare_s, publish_s, rerun_s = [], [], []
        bare()
        publish()
        for _ in range(repeat):
            bare_s.append(_timed(bare))
            reset()
            publish_s.append(_timed(publish))
            rerun_s.append(_timed(publish))
        gc.collect()
        reset()
        tracemalloc.start()
        publish()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        app.conf.task_always_eager = eager
    with organization_scope(round_.organization):
        published_teams = round_.results.count()
        results = sum(len(items) for items in round_.results.values_list("items", flat=True))
    bare_best, publish_best, rerun_best = min(bare_s), min(publish_s), min(rerun_s)
    ratio = publish_best / bare_best
    stdout.write(f"bare GROUP BY (execute + fetch):          {bare_best * 1000:8.1f} ms  (best of {repeat})")
    stdout.write(f"round_aggregate, first publication:       {publish_best * 1000:8.1f} ms  (best of {repeat})")
    stdout.write(f"round_aggregate, re-run (replaces rows):  {rerun_best * 1000:8.1f} ms  (best of {repeat})")
    stdout.write(f"ratio (first publication / bare):         {ratio:8.2f} x  (target ≤ {TARGET_RATIO})")
    stdout.write(f"published: {published_teams} team nodes, {results} item results")
    stdout.write(f"peak Python allocations during one aggregation (tracemalloc): {peak / 2**20:.1f} MiB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stdout.write(f"peak resident set of this process (ru_maxrss, whole run): {rss / 1024:.1f} MiB")


def _timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _describe(round_: Round) -> str:
    with connection.cursor() as cursor:
        counts = {}
        for table in ("surveys_team", "surveys_invitation", "surveys_response", "surveys_answer"):
            cursor.execute(f"SELECT count(*) FROM {table} WHERE organization_id = %s", [round_.organization_id])
            counts[table] = cursor.fetchone()[0]
    return (
        f"{counts['surveys_team']} teams, {counts['surveys_invitation']} invited, "
        f"{counts['surveys_response']} respondents, {counts['surveys_answer']} answers"
    )


def _tree(rng: np.random.Generator, size: int) -> list[int]:
    """Parents (-1 for the root) of a random tree of `size` nodes, at most MAX_DEPTH deep."""
    parents, depth = [-1], [0]
    for _ in range(1, size):
        while True:
            candidate = int(rng.integers(0, len(parents)))
            if depth[candidate] < MAX_DEPTH:
                break
        parents.append(candidate)
        depth.append(depth[candidate] + 1)
    return parents


def _team_sizes(rng: np.random.Generator, parents: list[int], invited: int) -> np.ndarray:
    """People recorded at each node: a manager or two at internal nodes, skewed sizes at leaves
    (many small teams, so suppression has work to do)."""
    size = len(parents)
    internal = np.zeros(size, dtype=bool)
    internal[[p for p in parents if p >= 0]] = True
    sizes = np.where(internal, rng.integers(0, 3, size), 0)
    leaves = np.flatnonzero(~internal)
    weights = rng.lognormal(mean=0.0, sigma=0.9, size=len(leaves))
    rest = max(invited - int(sizes.sum()), len(leaves))
    leaf_sizes = np.maximum(1, np.floor(weights / weights.sum() * rest)).astype(np.int64)
    sizes[leaves] = leaf_sizes
    sizes[0] += max(0, invited - int(sizes.sum()))
    return sizes


def _build(rng: np.random.Generator, *, respondents: int, teams: int, response_rate: float, skip_rate: float):
    tag = secrets.token_hex(4)
    invited = int(round(respondents / response_rate))
    with transaction.atomic():
        organization = Organization.objects.create(name=f"Benchmark {tag}", slug=f"benchmark-{tag}")
        _build_in(organization, rng, tag, invited, respondents, teams, skip_rate)
    with connection.cursor() as cursor:
        for table in ("surveys_answer", "surveys_response", "surveys_invitation", "surveys_team"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    with organization_scope(organization):
        return Round.objects.select_related("organization").get()


def _build_in(organization, rng, tag, invited, respondents, teams, skip_rate) -> None:
    with organization_scope(organization):
        parents = _tree(rng, teams)
        team_ids = _create_teams(organization, parents)
        sizes = _team_sizes(rng, parents, invited)
        person_team = np.repeat(np.asarray(team_ids, dtype=np.int64), sizes)
        answering = np.zeros(len(person_team), dtype=bool)
        answering[rng.choice(len(person_team), size=min(respondents, len(person_team)), replace=False)] = True
        survey = Survey.objects.create(name=f"Benchmark pulse {tag}")
        core = Question.objects.filter(organization__isnull=True, is_core=True).order_by("position")
        SurveyQuestion.objects.bulk_create(
            SurveyQuestion(organization=organization, survey=survey, question=q, position=i) for i, q in enumerate(core)
        )
        now = time.time()
        round_ = Round.objects.create(
            survey=survey,
            number=1,
            status=RoundStatus.CLOSED,
            opens_at=_at(now - 6 * 86400),
            closes_at=_at(now - 86400),
            k=organization.k,
            k_comments=organization.k_comments,
        )
        RoundQuestion.objects.bulk_create(
            RoundQuestion(organization=organization, round=round_, question=q, position=i) for i, q in enumerate(core)
        )
        _create_people(organization, round_, tag, person_team, answering, skip_rate, rng)


def _create_teams(organization: Organization, parents: list[int]) -> list[int]:
    """Insert the tree one depth level at a time (parents need their ids first)."""
    depth, paths = [], []
    for position, parent in enumerate(parents):
        depth.append(0 if parent < 0 else depth[parent] + 1)
        paths.append(f"Team {position}" if parent < 0 else f"{paths[parent]}/Team {position}")
    ids = [0] * len(parents)
    for level in range(max(depth) + 1):
        positions = [p for p in range(len(parents)) if depth[p] == level]
        created = Team.objects.bulk_create(
            Team(
                organization=organization,
                name=f"Team {p}",
                path=paths[p],
                parent_id=None if parents[p] < 0 else ids[parents[p]],
            )
            for p in positions
        )
        for p, team in zip(positions, created, strict=True):
            ids[p] = team.pk
    return ids


def _create_people(organization, round_, tag, person_team, answering, skip_rate, rng) -> None:
    org, rnd = organization.pk, round_.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [float(rng.random()) * 2 - 1])
        cursor.execute(
            "INSERT INTO surveys_user (password, is_superuser, email, name, is_active, is_staff, date_joined) "
            "SELECT '!', false, 'bench-' || %s || '-' || g || '@example.test', '', true, false, now() "
            "FROM generate_series(1, %s) g ORDER BY g RETURNING id",
            [tag, len(person_team)],
        )
        user_ids = sorted(row[0] for row in cursor.fetchall())
        cursor.execute(
            "INSERT INTO surveys_membership (organization_id, user_id, role, team_id, is_active, created_at) "
            "SELECT %s, u, 'employee', t, true, now() FROM unnest(%s::bigint[], %s::bigint[]) AS x(u, t) "
            "RETURNING id, team_id",
            [org, user_ids, person_team.tolist()],
        )
        memberships = cursor.fetchall()
        cursor.execute(
            "INSERT INTO surveys_invitation (organization_id, round_id, membership_id, team_id, token_hash) "
            "SELECT %s, %s, id, team_id, md5(id::text || random()::text) || md5(random()::text) "
            "FROM surveys_membership WHERE organization_id = %s",
            [org, rnd, org],
        )
        answered = [m for m, flag in zip(memberships, answering.tolist(), strict=True) if flag]
        cursor.execute(
            "INSERT INTO surveys_participation (organization_id, round_id, membership_id) "
            "SELECT %s, %s, m FROM unnest(%s::bigint[]) AS m",
            [org, rnd, [m for m, _ in answered]],
        )
        cursor.execute(
            "INSERT INTO surveys_response (id, organization_id, round_id, team_id) "
            "SELECT gen_random_uuid(), %s, %s, t FROM unnest(%s::bigint[]) AS t",
            [org, rnd, [t for _, t in answered]],
        )
        # Each team leans one way, so the figures look like an organisation's, not like noise.
        cursor.execute(
            "INSERT INTO surveys_answer (id, organization_id, response_id, round_id, team_id, question_id, value) "
            "SELECT gen_random_uuid(), r.organization_id, r.id, r.round_id, r.team_id, q.question_id, "
            "       least(5, greatest(1, round(3 + (r.team_id %% 3 - 1) * 0.6 + (random() - 0.5) * 3.2)))::smallint "
            "FROM surveys_response r CROSS JOIN surveys_roundquestion q "
            "WHERE r.organization_id = %s AND r.round_id = %s AND q.round_id = %s AND random() >= %s",
            [org, rnd, rnd, skip_rate],
        )
        cursor.execute(
            "INSERT INTO surveys_comment (id, organization_id, round_id, team_id, text) "
            "SELECT gen_random_uuid(), organization_id, round_id, team_id, 'A benchmark comment.' "
            "FROM surveys_response WHERE organization_id = %s AND round_id = %s AND random() < 0.1",
            [org, rnd],
        )


def _at(timestamp: float):
    import datetime as dt

    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)


def _delete(organization: Organization) -> None:
    """Set-based deletes, children first: Django's cascade would walk a million rows in Python."""
    org = organization.pk
    tables = (
        "surveys_answer",
        "surveys_comment",
        "surveys_response",
        "surveys_participation",
        "surveys_invitation",
        "surveys_result",
        "surveys_actionplan",
        "surveys_roundquestion",
        "surveys_round",
        "surveys_surveyquestion",
        "surveys_survey",
        "surveys_teammanagement",
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {table} WHERE organization_id = %s", [org])
        cursor.execute(
            "DELETE FROM surveys_membership WHERE organization_id = %s RETURNING user_id",
            [org],
        )
        user_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("DELETE FROM surveys_team WHERE organization_id = %s", [org])
        cursor.execute("DELETE FROM surveys_user WHERE id = ANY(%s) AND email LIKE 'bench-%%'", [user_ids])
        cursor.execute("DELETE FROM surveys_organization WHERE id = %s", [org])
