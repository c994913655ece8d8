"""`manage.py benchmark`: the command that lists and runs the benchmarks. Those that write run
on a database the command created for the run, and refuse any other (benchmarks.database)."""

import argparse
import importlib
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from benchmarks import BENCHMARKS, WITHOUT_DATABASE
from benchmarks.database import MARKER, bench_database_refusal
from surveys.management.commands import benchmark as command
from surveys.models import Organization

WRITING = sorted(set(BENCHMARKS) - WITHOUT_DATABASE)


def test_help_lists_every_benchmark(capsys):
    # A summary line with a per cent sign once broke argparse's help formatting.
    with pytest.raises(SystemExit) as exit_:
        call_command("benchmark", "--help")
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in BENCHMARKS)


def test_only_a_marked_pulse_bench_database_may_be_written():
    def refusal(vendor="postgresql", name="pulse_bench_open_1a2b3c4d", comment=MARKER):
        return bench_database_refusal(benchmark="open", vendor=vendor, name=name, comment=comment)

    assert refusal() is None
    assert "never on 'pulse'" in refusal(name="pulse")
    assert "never on 'pulse_bench_open'" in refusal(name="pulse_bench_open", comment=None)
    assert "never on" in refusal(comment="someone else's")
    assert "needs PostgreSQL" in refusal(vendor="sqlite")


@pytest.mark.parametrize("name", WRITING)
def test_a_benchmark_run_any_other_way_refuses_the_database_it_is_pointed_at(db, name):
    """Called directly (not through the command), on the tests' own database: refused before
    anything is written."""
    module = importlib.import_module(BENCHMARKS[name])
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    organizations = Organization.objects.count()
    expected = "needs PostgreSQL" if connection.vendor != "postgresql" else "runs only on one `manage.py benchmark`"
    with pytest.raises(CommandError, match=expected):
        module.run(stdout=io.StringIO(), **vars(parser.parse_args([])))
    assert Organization.objects.count() == organizations


def test_the_command_refuses_sqlite_before_creating_anything(db):
    if connection.vendor == "postgresql":
        pytest.skip("on PostgreSQL the command makes its database (the end-to-end test below)")
    with pytest.raises(CommandError, match="benchmark open needs PostgreSQL"):
        call_command("benchmark", "open", "--people", "10")


def test_without_the_benchmarks_package_the_command_says_so(monkeypatch):
    monkeypatch.setattr(command, "benchmarks", None)
    with pytest.raises(CommandError, match="not installed here"):
        call_command("benchmark")


def test_a_benchmark_without_a_database_runs_without_one():
    out = io.StringIO()
    call_command(
        "benchmark", "publication", "--organisations", "2", "--rounds", "50", "--k", "5", "--seed", "3", stdout=out
    )
    printed = out.getvalue()
    assert "units and rests (the product)" in printed and "previous rule (worst case)" in printed
    assert "own count (leaks" in printed and "teams shown: target" in printed


def _bench_databases() -> list[str]:
    # Only the open benchmark's: another worker may be running another benchmark meanwhile.
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'pulse\\_bench\\_open\\_%%'")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
def test_the_open_benchmark_runs_end_to_end_on_a_database_of_its_own(postgres, transactional_db, capsys):
    before, organizations = _bench_databases(), Organization.objects.count()
    call_command("benchmark", "open", "--people", "300", "--teams", "12", "--repeat", "1")
    out = capsys.readouterr().out
    assert "round_open (the service)" in out and "plain INSERT … SELECT (baseline)" in out and "ratio" in out
    assert "Database pulse_bench_open_" in out
    assert _bench_databases() == before  # dropped afterwards
    assert Organization.objects.count() == organizations  # nothing written to the tests' own database
