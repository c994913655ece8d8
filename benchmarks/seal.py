"""Sealing, and close to published, beside the same shuffle-and-rewrite in plain SQL.

For each size in `--respondents` (default 100,000 and 400,000), builds a closed round the way
the aggregate benchmark does (a random tree of `--teams` teams, about ten answers a person, some
comments), then times, interleaved and best of `--repeat` (median in brackets):

- **sealing** (`services.sealing.round_seal`: the round's Responses, Answers and Comments
  copied under fresh keys in a random order into new partitions, swapped in for the old ones);
- **plain SQL**: the same rewrite with nothing around it: `CREATE TABLE … AS SELECT … ORDER BY
  random()` of the round's responses (fresh keys), answers (joined to them) and comments, then
  dropped; the target is sealing at most 3× this;
- **close to published** (`round_publish`: seal, then aggregate, audit and publish) beside the
  plain rewrite plus the bare histogram GROUP BY executed and fetched; target at most 3×.

Then a 50-person round, sealed on a database holding only it (before anything is built) and
again beside the big rounds (over a million answers of another organisation): target at most
1.5×; and sealed once more beside another organisation's open transaction
(benchmarks/neighbour.py), which it must not wait for. Prints the figures, their ratios, the wait
and the load average, then deletes what it built.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from benchmarks.aggregate import _build, _delete, _timed
from benchmarks.database import bench_database_check
from benchmarks.neighbour import beside_neighbour, wait_line
from surveys.core.tenancy import organization_scope
from surveys.engine.aggregation import HISTOGRAM_SQL
from surveys.models import Answer, Result, Round, RoundStatus
from surveys.services.results import round_publish

TARGET_SEAL = 3.0
TARGET_PUBLISH = 3.0
TARGET_SMALL = 1.5


def add_arguments(parser) -> None:
    parser.add_argument("--respondents", default="100000,400000", help="Comma-separated round sizes.")
    parser.add_argument("--teams", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small-repeat", type=int, default=15, help="Timings of the 50-person round, each side.")
    parser.add_argument("--seed", type=int, default=7)


def run(*, stdout, respondents: str, teams: int, repeat: int, small_repeat: int, seed: int, **options) -> None:
    bench_database_check("seal")
    sizes = [int(size) for size in respondents.split(",") if size.strip()]
    rng = np.random.default_rng(seed)
    load_before = os.getloadavg()
    built: list[Round] = []
    try:
        small, _ = _build(rng, respondents=50, teams=5, response_rate=0.85, skip_rate=0.05)
        built.append(small)
        alone = [_timed(lambda: _seal_again(small)) for _ in range(small_repeat)]
        stdout.write(f"50-person round ({_answers(small):,} answers) on a database holding only it: {_figures(alone)}")
        for size in sizes:
            started = time.perf_counter()
            big, _ = _build(rng, respondents=size, teams=teams, response_rate=0.8, skip_rate=0.05)
            built.append(big)
            stdout.write(
                f"\n{size:,} respondents, {_answers(big):,} answers, {teams:,} teams "
                f"(built in {time.perf_counter() - started:.0f} s):"
            )
            _measure_big(stdout, big, repeat=repeat)
        settled = _settle()
        beside = [_timed(lambda: _seal_again(small)) for _ in range(small_repeat)]
        others = sum(_answers(round_) for round_ in built[1:])
        ratio = min(beside) / min(alone)
        stdout.write(
            f"\n50-person round beside {others:,} answers of another organisation: {_figures(beside)}; "
            f"{ratio:.2f}x on its own (target at most {TARGET_SMALL}x){_verdict(ratio, TARGET_SMALL)}"
            f"\n  (measured after vacuuming and analysing the tables the big rounds filled: {settled:.0f} s, untimed)"
        )
        stdout.write(wait_line("sealing it", alone=min(beside), beside=beside_neighbour(lambda: _seal_again(small))))
    finally:
        for round_ in built:
            _delete(round_.organization)
    load_after = os.getloadavg()
    stdout.write(
        f"\nload average {load_before[0]:.2f} before, {load_after[0]:.2f} after ({os.cpu_count()} CPUs); "
        "best of the repeats, median in brackets"
    )


def _measure_big(stdout, round_: Round, *, repeat: int) -> None:
    timings: dict[str, list[float]] = {"seal": [], "plain": [], "publish": [], "group by": []}
    params = {"organization": round_.organization_id, "round": round_.pk}

    def group_by() -> None:
        with connection.cursor() as cursor:
            cursor.execute(HISTOGRAM_SQL, params)
            cursor.fetchall()

    steps = {
        "seal": lambda: _seal_again(round_),
        "plain": lambda: _plain_rewrite(round_),
        "publish": lambda: _publish_again(round_),
        "group by": group_by,
    }
    for step in steps.values():  # warm each path once
        step()
    for repetition in range(repeat):
        order = list(steps.items()) if repetition % 2 == 0 else list(reversed(steps.items()))
        for name, step in order:
            timings[name].append(_timed(step))
    seal, plain = min(timings["seal"]), min(timings["plain"])
    publish, group_by_s = min(timings["publish"]), min(timings["group by"])
    stdout.write(f"  sealing                                  {_figures(timings['seal'])}")
    stdout.write(f"  plain SQL shuffle-and-rewrite (baseline) {_figures(timings['plain'])}")
    stdout.write(f"  ratio {seal / plain:.2f}x (target at most {TARGET_SEAL}x){_verdict(seal / plain, TARGET_SEAL)}")
    stdout.write(f"  close to published (seal + aggregate)    {_figures(timings['publish'])}")
    stdout.write(f"  bare GROUP BY, executed and fetched      {_figures(timings['group by'])}")
    ratio = publish / (plain + group_by_s)
    stdout.write(
        f"  ratio to plain rewrite + GROUP BY {ratio:.2f}x (target at most {TARGET_PUBLISH}x)"
        f"{_verdict(ratio, TARGET_PUBLISH)}"
    )


def _settle() -> float:
    """Vacuum and analyse the tables the big rounds filled, then checkpoint when allowed: on a
    small machine autovacuum would otherwise do that work in the middle of the small round's
    timings, and measure it rather than the size of the database. Returns the seconds taken."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) surveys_response, surveys_answer, surveys_comment, surveys_participation, "
            "surveys_invitation, surveys_result"
        )
        try:
            with transaction.atomic():
                cursor.execute("CHECKPOINT")
        except DatabaseError:
            pass  # only a superuser (or pg_checkpoint) may
    return time.perf_counter() - started


def _seal_again(round_: Round) -> None:
    """Seal the round (as if it were not sealed yet: sealing a sealed round costs the same)."""
    Round.all_organizations.filter(pk=round_.pk).update(sealed_at=None)
    with organization_scope(round_.organization):
        from surveys.services.sealing import round_seal

        if not round_seal(round_id=round_.pk):
            raise CommandError("sealing did nothing")


def _publish_again(round_: Round) -> None:
    """Everything after a close, as the worker runs it: what publication hands on to other
    tasks (the results e-mails, the CSV lines) is queued, not run in the timed path."""
    from wellbeing.celery import app

    with transaction.atomic():
        Result.all_organizations.filter(round_id=round_.pk).delete()
        Round.all_organizations.filter(pk=round_.pk).update(
            sealed_at=None, status=RoundStatus.CLOSED, published_at=None
        )
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    try:
        with organization_scope(round_.organization):
            round_publish(round_id=round_.pk)
    finally:
        app.conf.task_always_eager = eager


def _plain_rewrite(round_: Round) -> None:
    """The same rewrite in plain SQL: fresh keys, a random order, nothing else; then dropped."""
    r = round_.pk
    statements = [
        f"CREATE TEMPORARY TABLE plain_keys ON COMMIT DROP AS "
        f"SELECT id AS old_id, gen_random_uuid() AS new_id FROM surveys_response_r{r}",
        f"CREATE TABLE plain_response AS SELECT k.new_id AS id, r.organization_id, r.round_id, r.team_id "
        f"FROM surveys_response_r{r} r JOIN plain_keys k ON k.old_id = r.id ORDER BY random()",
        f"CREATE TABLE plain_answer AS SELECT gen_random_uuid() AS id, a.organization_id, k.new_id AS response_id, "
        f"a.round_id, a.team_id, a.question_id, a.value FROM surveys_answer_r{r} a "
        f"JOIN plain_keys k ON k.old_id = a.response_id ORDER BY random()",
        f"CREATE TABLE plain_comment AS SELECT gen_random_uuid() AS id, organization_id, round_id, team_id, text "
        f"FROM surveys_comment_r{r} ORDER BY random()",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE plain_response, plain_answer, plain_comment")


def _answers(round_: Round) -> int:
    return Answer.all_organizations.filter(round_id=round_.pk).count()


def _figures(values: list[float]) -> str:
    return f"{min(values) * 1000:9.1f} ms ({statistics.median(values) * 1000:.1f})"


def _verdict(ratio: float, target: float) -> str:
    return ": met" if ratio <= target else ": NOT met"
