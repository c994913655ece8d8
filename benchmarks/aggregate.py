"""Aggregate a big closed round end to end, beside the bare GROUP BY any aggregation must run.

Builds its own organisation (a random team tree, people, invitations and the round's
invitation snapshot, responses with about ten answers each, some skipped items, some comments)
with set-based SQL, then times, interleaved and each warmed once, best of `--repeat`:

- the bare histogram GROUP BY over the round's answers, in every way of bringing its rows into
  the process that we know (execute + fetchall; packed into arrays, with the server's settings
  and with the read's, as aggregation fetches them); the target is judged against the bare
  GROUP BY executed and fetched (with whichever settings are faster), and the ratio to the fastest
  of them all, our own packed fetch, is printed too;
- `round_aggregate` as a worker runs it (the task, its tenant lookup, the round lock, the one
  read, roll-up, suppression, the independent audit, the Results write, the commit; the
  results-ready notification is queued, as on a worker), first publication and re-run, with the
  time of each phase.

Prints both, their ratio, the phases, peak memory and the machine's load, then deletes its data.
"""

from __future__ import annotations

import gc
import os
import resource
import secrets
import statistics
import time
import tracemalloc

import numpy as np
from django.core.management.base import CommandError
from django.db import connection, transaction

from benchmarks.database import bench_database_check
from surveys.core.int_tables import fetch_int_tables
from surveys.core.phases import phases_recorded
from surveys.core.tenancy import organization_scope
from surveys.engine.aggregation import HISTOGRAM_SQL, INPUT_SQL, READ_PLAN
from surveys.models import Organization, Question, Round, RoundQuestion, RoundStatus, Survey, SurveyQuestion, Team
from surveys.services.rounds import round_team_snapshot
from surveys.services.sealing import round_seal

MAX_DEPTH = 5
TARGET_RATIO = 1.5


def add_arguments(parser) -> None:
    parser.add_argument("--respondents", type=int, default=100_000)
    parser.add_argument("--teams", type=int, default=2000)
    parser.add_argument("--response-rate", type=float, default=0.8, help="Respondents / invited.")
    parser.add_argument("--skip-rate", type=float, default=0.03, help="Share of items left unanswered.")
    parser.add_argument("--repeat", type=int, default=7, help="Timed runs of each; the best is kept.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--keep", action="store_true", help="Leave the organisation, and the database made for the run, in place."
    )


def run(*, stdout, respondents, teams, response_rate, skip_rate, repeat, seed, keep, **options) -> None:
    bench_database_check("aggregate")
    if respondents < 1 or teams < 1 or not 0 < response_rate <= 1:
        raise CommandError("Use at least one respondent and one team, and a response rate in (0, 1].")
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    round_, snapshot_s = _build(
        rng, respondents=respondents, teams=teams, response_rate=response_rate, skip_rate=skip_rate
    )
    stdout.write(f"Built {_describe(round_)} in {time.perf_counter() - started:.1f} s.")
    stdout.write(
        f"Moved to the round's opening (once per round, not timed below): the invitation snapshot "
        f"per team, {snapshot_s * 1000:.1f} ms."
    )
    try:
        with organization_scope(round_.organization):
            seal_s = _timed(lambda: round_seal(round_id=round_.pk))
        stdout.write(
            f"Done once per round before its first aggregation (not timed below): sealing, which "
            f"re-keys and re-orders its responses, answers and comments into fresh partitions, {seal_s * 1000:.0f} ms."
        )
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
    # As on a worker: the results-ready notice is queued for another task, not sent in the timed path.
    app.conf.task_always_eager = False
    params = {"organization": round_.organization_id, "round": round_.pk}
    load_before = os.getloadavg()

    def fetchall() -> None:
        with connection.cursor() as cursor:
            cursor.execute(HISTOGRAM_SQL, params)
            cursor.fetchall()

    def fetchall_as_read() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(READ_PLAN)
            cursor.execute(HISTOGRAM_SQL, params)
            cursor.fetchall()

    def packed() -> None:
        fetch_int_tables({"histogram": INPUT_SQL["histogram"]}, params)

    def packed_as_read() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(READ_PLAN)
            packed()

    def server_only() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({HISTOGRAM_SQL}) AS groups", params)
            cursor.fetchall()

    def reset() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM surveys_result WHERE round_id = %s", [round_.pk])
            cursor.execute(
                "UPDATE surveys_round SET status = %s, published_at = NULL WHERE id = %s",
                [RoundStatus.CLOSED, round_.pk],
            )

    def publish() -> dict[str, float]:
        with phases_recorded() as phases:
            started = time.perf_counter()
            round_aggregate(round_.pk)
            phases["total"] = time.perf_counter() - started
        return phases

    bare = {
        "execute + fetchall": fetchall,
        "execute + fetchall, with the read's settings": fetchall_as_read,
        "packed arrays": packed,
        "packed arrays, with the read's settings": packed_as_read,
    }
    timings: dict[str, list[float]] = {name: [] for name in [*bare, "server only"]}
    first: list[dict[str, float]] = []
    rerun: list[dict[str, float]] = []
    _report_plan(stdout, params)
    try:
        for function in [*bare.values(), server_only]:  # warm every path the same way
            function()
        reset()
        publish()
        for repetition in range(repeat):
            # Interleaved, alternating the order, so a busy neighbour slows all alike.
            steps = [*bare.items(), ("server only", server_only), ("publish", None)]
            for name, step in steps if repetition % 2 == 0 else reversed(steps):
                if step is None:
                    reset()
                    first.append(publish())
                    rerun.append(publish())
                else:
                    timings[name].append(_timed(step))
        gc.collect()
        reset()
        tracemalloc.start()
        round_aggregate(round_.pk)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        app.conf.task_always_eager = eager
    _report(stdout, round_, timings, first, rerun, repeat=repeat, peak=peak, load=(load_before, os.getloadavg()))


def _report_plan(stdout, params: dict) -> None:
    """Say which plan the planner picked for the histogram: aggregation runs the planner's."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {HISTOGRAM_SQL}", params)
        plan = [row[0] for row in cursor.fetchall()]
    nodes = [line.strip().removeprefix("->  ").split("  (")[0] for line in plan if "(cost=" in line]
    stdout.write(f"planner's plan for the histogram: {' <- '.join(nodes)}")
    scanned = {line.split(" on ")[1].split()[0] for line in plan if " Scan on " in line}
    if scanned != {f"surveys_answer_r{params['round']}"}:
        stdout.write(f"  (scans {sorted(scanned)}, not only the round's own partition)")


def _report(stdout, round_, timings, first, rerun, *, repeat, peak, load) -> None:
    with organization_scope(round_.organization):
        published_teams = round_.results.count()
        results = sum(len(items) for items in round_.results.values_list("items", flat=True))
    ms = 1000
    stdout.write(f"\nbare GROUP BY over the round's answers (best of {repeat}, median in brackets):")
    for name, values in timings.items():
        note = "  (reference only: no rows reach Python)" if name == "server only" else ""
        stdout.write(f"  {name:40s} {min(values) * ms:7.1f} ms  ({statistics.median(values) * ms:6.1f}){note}")
    plain_name = min(
        ("execute + fetchall", "execute + fetchall, with the read's settings"), key=lambda n: min(timings[n])
    )
    plain = min(timings[plain_name])
    baseline = min(min(values) for name, values in timings.items() if name != "server only")
    best_first = min(first, key=lambda phases: phases["total"])
    best_rerun = min(rerun, key=lambda phases: phases["total"])
    median_first = statistics.median(phases["total"] for phases in first)
    stdout.write(f"  {'strictest baseline (fastest of the above)':40s} {baseline * ms:7.1f} ms")
    stdout.write(f"\nround_aggregate, end to end (best of {repeat}, median in brackets):")
    stdout.write(f"  {'first publication':40s} {best_first['total'] * ms:7.1f} ms  ({median_first * ms:6.1f})")
    median_rerun = statistics.median(phases["total"] for phases in rerun)
    stdout.write(
        f"  {'re-run (final: changes nothing)':40s} {best_rerun['total'] * ms:7.1f} ms  ({median_rerun * ms:6.1f})"
    )
    median_baseline = min(statistics.median(values) for name, values in timings.items() if name != "server only")
    median_plain = statistics.median(timings[plain_name])
    ratio, median_ratio = best_first["total"] / baseline, median_first / median_baseline
    stdout.write(
        f"\nratio to the bare GROUP BY, executed and fetched (its faster plan): {best_first['total'] / plain:.2f} x, "
        f"of medians {median_first / median_plain:.2f} x   (target: at most {TARGET_RATIO} x)"
    )
    stdout.write(
        f"ratio to the strictest baseline (our own packed fetch): {ratio:.2f} x, of medians {median_ratio:.2f} x"
    )
    stdout.write("\nphases of the best first publication (median over runs in brackets):")
    for name in best_first:
        if name == "total":
            continue
        median = statistics.median(phases.get(name, 0.0) for phases in first)
        stdout.write(f"  {name:50s} {best_first[name] * ms:7.1f} ms  ({median * ms:6.1f})")
    rest = best_first["total"] - sum(value for name, value in best_first.items() if name != "total")
    stdout.write(f"  {'the rest: task and tenant lookup, round update':50s} {rest * ms:7.1f} ms")
    stdout.write(f"\npublished: {published_teams} team nodes, {results} item results")
    stdout.write(f"peak Python allocations during one aggregation (tracemalloc): {peak / 2**20:.1f} MiB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stdout.write(f"peak resident set of this process (ru_maxrss, whole run): {rss / 1024:.1f} MiB")
    before, after = load
    stdout.write(
        f"machine: {os.cpu_count()} CPUs; load average {before[0]:.2f} before, {after[0]:.2f} after "
        "(other work on the machine slows both sides alike; compare medians too)"
    )


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
    """The organisation and its closed round, and how long the round's invitation snapshot took."""
    tag = secrets.token_hex(4)
    invited = int(round(respondents / response_rate))
    with transaction.atomic():
        organization = Organization.objects.create(name=f"Benchmark {tag}", slug=f"benchmark-{tag}")
        snapshot_s = _build_in(organization, rng, tag, invited, respondents, teams, skip_rate)
    with connection.cursor() as cursor:
        for table in ("surveys_answer", "surveys_response", "surveys_invitation", "surveys_team", "surveys_roundteam"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    with organization_scope(organization):
        return Round.objects.select_related("organization").get(), snapshot_s


def _build_in(organization, rng, tag, invited, respondents, teams, skip_rate) -> float:
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
        # What round_open does beside writing the invitations (the same service call).
        started = time.perf_counter()
        round_team_snapshot(round_=round_)
        return time.perf_counter() - started


def _create_teams(organization: Organization, parents: list[int]) -> list[int]:
    """Insert the tree one depth level at a time (parents need their ids first)."""
    depth: list[int] = []
    paths: list[str] = []
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
            "INSERT INTO surveys_invitation "
            "(organization_id, round_id, membership_id, team_id, token_hash, previous_token_hash) "
            "SELECT %s, %s, id, team_id, md5(id::text || random()::text) || md5(random()::text), '' "
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
        "surveys_roundteam",
        "surveys_result",
        "surveys_resultlines",
        "surveys_actionplan",
        "surveys_roundquestion",
        "surveys_round",
        "surveys_surveyquestion",
        "surveys_survey",
        "surveys_teammanagement",
        "surveys_apikey",
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
