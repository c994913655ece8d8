"""The full results CSV through the API, beside a plain SQL COPY of the same rows.

Builds its own organisation with set-based SQL: a random tree of `--teams` teams, one survey
with `--rounds` published rounds, each round's frozen tree and questions, and a Result row for
most nodes (some hidden, some with a question not shown), as aggregation leaves them. Then,
interleaved and each warmed once, `--repeat` times at two sizes (every round, and the last
`--small-rounds` rounds):

- the API: `GET /api/v1/results.csv` with an HR key, through the whole Django stack (middleware,
  key check, filters, the selectors the pages use, change flags, formula-safe CSV), the streamed
  body read to its end;
- the baseline: `COPY (SELECT …) TO STDOUT (FORMAT csv)` of the same nodes joined to their
  survey, round, team and Result row, one line per node × question with its answer counts as
  stored (no scores, intervals or change flags), read to its end through psycopg; and, stricter
  still, the same with one line per node (its counts as one JSON cell).

The API reads each node's lines as formatted at publication (ResultLines); publication's cost
of formatting them is timed too. Prints rows per second for each (team nodes, which all have in
common, and the CSV lines each writes), the ratios, peak Python memory of each at both sizes,
and the machine's load; then deletes its data.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import secrets
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from benchmarks.aggregate import _create_teams, _delete, _tree
from benchmarks.database import bench_database_check
from surveys.core.tenancy import organization_scope
from surveys.models import (
    ApiKey,
    Organization,
    Question,
    Round,
    RoundQuestion,
    RoundStatus,
    Survey,
    SurveyQuestion,
)
from surveys.selectors.exports import result_lines_prepare

TARGET_SHARE = 0.25
DAY = 86_400

_NODES = """
    FROM surveys_roundteam rt
    JOIN surveys_round r ON r.id = rt.round_id
    JOIN surveys_survey s ON s.id = r.survey_id
    JOIN surveys_team t ON t.id = rt.team_id
    LEFT JOIN surveys_result res
           ON res.organization_id = rt.organization_id AND res.round_id = rt.round_id AND res.team_id = rt.team_id
"""
_WHERE = "WHERE rt.organization_id = %s AND r.status = 'published' AND r.closed_at::date >= %s"
#: The baselines: the same nodes, straight from the tables to CSV.
COPY_SQL = {
    # One line per node × question, as the CSV has (its answer counts as stored, no scoring).
    "COPY": f"""
        COPY (
            SELECT s.id, s.name, r.id, r.number, r.closed_at::date, t.id, t.path, res.n, res.invited,
                   q.code, q.text, i.value
            {_NODES}
            LEFT JOIN LATERAL jsonb_each(res.items::jsonb) AS i ON true
            LEFT JOIN surveys_question q ON q.id = i.key::bigint
            {_WHERE}
            ORDER BY s.id, t.path, r.number, q.id
        ) TO STDOUT (FORMAT csv, HEADER)
    """,
    # Stricter still: one line per node, its stored counts as one JSON cell.
    "COPY, a line per node": f"""
        COPY (
            SELECT s.id, s.name, r.id, r.number, r.closed_at::date, t.id, t.path, res.n, res.invited, res.items
            {_NODES}
            {_WHERE}
            ORDER BY s.id, t.path, r.number
        ) TO STDOUT (FORMAT csv, HEADER)
    """,
}


def add_arguments(parser) -> None:
    parser.add_argument("--teams", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=26, help="Published rounds, a fortnight apart.")
    parser.add_argument("--small-rounds", type=int, default=6, help="Rounds in the smaller download.")
    parser.add_argument("--hidden", type=float, default=0.1, help="Share of team nodes not shown.")
    parser.add_argument("--repeat", type=int, default=3, help="Timed runs of each; best and median are kept.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--keep", action="store_true", help="Leave the organisation, and the database made for the run, in place."
    )


@dataclass
class Download:
    seconds: float
    lines: int
    size: int


def run(*, stdout, teams, rounds, small_rounds, hidden, repeat, seed, keep, **options) -> None:
    bench_database_check("export")
    if teams < 1 or not 1 <= small_rounds <= rounds:
        raise CommandError("Use at least one team, and 1 ≤ --small-rounds ≤ --rounds.")
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    organization, secret, dates = _build(rng, teams=teams, rounds=rounds, hidden=hidden)
    stdout.write(f"Built {teams:,} teams × {rounds} published rounds in {time.perf_counter() - started:.1f} s.")
    try:
        _prepare(stdout, organization)
        sizes = {f"{rounds} rounds": dates[0], f"{small_rounds} rounds": dates[rounds - small_rounds]}
        _measure(stdout, organization, secret, sizes, repeat=max(1, repeat))
    finally:
        if keep:
            stdout.write(f"Kept organisation {organization.slug}.")
        else:
            _delete(organization)


def _prepare(stdout, organization: Organization) -> None:
    """What publication does after the commit: each round's CSV lines formatted and stored."""
    with organization_scope(organization):
        seconds = []
        for round_ in Round.objects.order_by("number"):
            started = time.perf_counter()
            nodes = result_lines_prepare(round_)
            seconds.append(time.perf_counter() - started)
    stdout.write(
        f"Formatting a round's CSV lines at publication ({nodes:,} nodes, not timed below): "
        f"best {min(seconds):.2f} s, median {statistics.median(seconds):.2f} s, "
        f"{nodes / statistics.median(seconds):,.0f} nodes/s (what a download computes for a node that has none)."
    )


def _measure(stdout, organization: Organization, secret: str, sizes: dict, *, repeat: int) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    load_before = os.getloadavg()
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        for name, since in sizes.items():
            nodes = _count_nodes(organization, since)
            steps: dict[str, Callable[[], Download]] = {"API": partial(_api, client, since)}
            for label, sql in COPY_SQL.items():
                steps[label] = partial(_copy, sql, organization, since)
            for step in steps.values():  # warm every one
                step()
            runs: dict[str, list[Download]] = {label: [] for label in steps}
            for repetition in range(repeat):
                # Interleaved, alternating the order, so a busy neighbour slows all alike.
                order = list(steps.items())
                for label, step in order if repetition % 2 == 0 else reversed(order):
                    runs[label].append(step())
            peaks = {label: _peak(step) for label, step in steps.items()}
            _report(stdout, name, nodes, runs, peaks, repeat=repeat)
    before, after = load_before, os.getloadavg()
    stdout.write(
        f"\nmachine: {os.cpu_count()} CPUs; load average {before[0]:.2f} before, {after[0]:.2f} after "
        "(other work on the machine slows both sides alike; compare medians too)"
    )


def _report(stdout, name: str, nodes: int, runs: dict[str, list[Download]], peaks: dict[str, int], *, repeat) -> None:
    stdout.write(f"\n{name}: {nodes:,} team nodes (best of {repeat}, median in brackets)")
    rates = {}
    for label, downloads in runs.items():
        best = min(d.seconds for d in downloads)
        median = statistics.median(d.seconds for d in downloads)
        last = downloads[-1]
        rates[label] = (nodes / best, nodes / median)
        stdout.write(
            f"  {label:22s} {best:6.2f} s ({median:6.2f})  {nodes / best:9,.0f} nodes/s ({nodes / median:9,.0f})  "
            f"{last.lines / best:10,.0f} CSV lines/s  {last.lines:,} lines, {last.size / 2**20:6.1f} MiB, "
            f"peak Python memory {peaks[label] / 2**20:5.1f} MiB"
        )
    for label in COPY_SQL:
        share, median_share = rates["API"][0] / rates[label][0], rates["API"][1] / rates[label][1]
        target = f"  (target: at least {TARGET_SHARE:.0%})" if label == "COPY" else ""
        stdout.write(f"  the API at {share:.0%} of {label}'s rate in team nodes, of medians {median_share:.0%}{target}")


def _api(client: Client, since: str) -> Download:
    started = time.perf_counter()
    response = client.get("/api/v1/results.csv", {"closed_after": since})
    if response.status_code != 200:
        raise CommandError(f"The API answered {response.status_code}: {response.content[:300]!r}")
    lines = size = 0
    for chunk in response.streaming_content:  # type: ignore[attr-defined]
        lines += chunk.count(b"\n")
        size += len(chunk)
    response.close()
    return Download(time.perf_counter() - started, lines, size)


def _copy(sql: str, organization: Organization, since: str) -> Download:
    started = time.perf_counter()
    lines = size = 0
    with connection.cursor() as cursor, cursor.connection.cursor().copy(sql, [organization.pk, since]) as copy:
        for block in copy:
            lines += bytes(block).count(b"\n")
            size += len(block)
    return Download(time.perf_counter() - started, lines, size)


def _peak(step) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _count_nodes(organization: Organization, since: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM surveys_roundteam rt JOIN surveys_round r ON r.id = rt.round_id "
            "WHERE rt.organization_id = %s AND r.closed_at::date >= %s",
            [organization.pk, since],
        )
        return cursor.fetchone()[0]


def _build(rng: np.random.Generator, *, teams: int, rounds: int, hidden: float):
    """The organisation, an HR read key's secret, and each round's closing date (oldest first)."""
    tag = secrets.token_hex(4)
    with transaction.atomic():
        organization = Organization.objects.create(name=f"Benchmark {tag}", slug=f"benchmark-{tag}")
        with organization_scope(organization):
            dates = _build_in(organization, rng, teams=teams, rounds=rounds, hidden=hidden)
        _, secret = ApiKey.all_organizations.create_key(organization=organization, name="benchmark")
    with connection.cursor() as cursor:
        for table in ("surveys_result", "surveys_roundteam", "surveys_team", "surveys_round"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return organization, secret, dates


def _build_in(organization: Organization, rng, *, teams: int, rounds: int, hidden: float) -> list[str]:
    parents = _tree(rng, teams)
    team_ids = _create_teams(organization, parents)
    survey = Survey.objects.create(name="Benchmark pulse")
    core = list(Question.objects.filter(organization__isnull=True, is_core=True).order_by("position"))
    SurveyQuestion.objects.bulk_create(
        SurveyQuestion(organization=organization, survey=survey, question=q, position=i) for i, q in enumerate(core)
    )
    closings = [timezone.now() - dt.timedelta(days=14 * (rounds - number)) for number in range(rounds)]
    created = Round.objects.bulk_create(
        Round(
            organization=organization,
            survey=survey,
            number=number + 1,
            status=RoundStatus.PUBLISHED,
            opens_at=closed - dt.timedelta(days=5),
            closes_at=closed,
            closed_at=closed,
            published_at=closed,
            sealed_at=closed,
            k=organization.k,
            k_comments=organization.k_comments,
        )
        for number, closed in enumerate(closings)
    )
    RoundQuestion.objects.bulk_create(
        RoundQuestion(organization=organization, round=round_, question=q, position=i)
        for round_ in created
        for i, q in enumerate(core)
    )
    round_ids = [round_.pk for round_ in created]
    parent_ids = [None if parent < 0 else team_ids[parent] for parent in parents]
    invited = rng.integers(4, 40, size=len(team_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO surveys_roundteam (organization_id, round_id, team_id, parent_id, invited) "
            "SELECT %s, r, t.team, t.parent, t.invited FROM unnest(%s::bigint[]) AS r "
            "CROSS JOIN unnest(%s::bigint[], %s::bigint[], %s::int[]) AS t(team, parent, invited)",
            [organization.pk, round_ids, team_ids, parent_ids, invited.tolist()],
        )
        cursor.execute(
            "INSERT INTO surveys_result "
            "(organization_id, round_id, team_id, n, invited, items, comments_released, covered_teams) "
            "SELECT %s, r, t, n, i, items, true, '[' || t || ']' "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::int[], %s::text[]) AS x(r, t, n, i, items)",
            [organization.pk, *_results(rng, round_ids, team_ids, invited, core, hidden)],
        )
    Round.objects.filter(pk__in=round_ids).update(teams_published=len(team_ids))
    return [closed.date().isoformat() for closed in closings]


def _results(rng, round_ids: list[int], team_ids: list[int], invited: np.ndarray, core, hidden: float):
    """Result rows: each team leans one way and drifts a little from round to round; a share of
    nodes hidden, and now and then a question not shown."""
    columns: tuple[list, list, list, list, list] = ([], [], [], [], [])
    lean = rng.normal(0, 0.6, size=len(team_ids))
    for number, round_id in enumerate(round_ids):
        for index, team_id in enumerate(team_ids):
            if rng.random() < hidden:
                continue
            size = int(invited[index])
            n = int(rng.integers(max(1, size // 2), size + 1))
            centre = 3 + lean[index] + 0.02 * number * np.sign(lean[index])
            items = {}
            for question in core:
                if rng.random() < 0.02:
                    continue  # a question not shown at this node
                values = np.clip(np.rint(rng.normal(centre, 1.0, size=n)), 1, 5).astype(int)
                items[str(question.pk)] = np.bincount(values - 1, minlength=5).tolist()
            for column, value in zip(columns, (round_id, team_id, n, size, json.dumps(items)), strict=True):
                column.append(value)
    return columns
