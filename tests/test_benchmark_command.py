"""`manage.py benchmark`: the command that lists and runs the benchmarks."""

import pytest
from django.core.management import call_command

from surveys.benchmarks import BENCHMARKS


def test_help_lists_every_benchmark(capsys):
    # A summary line with a per cent sign once broke argparse's help formatting.
    with pytest.raises(SystemExit) as exit_:
        call_command("benchmark", "--help")
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in BENCHMARKS)


@pytest.mark.postgres
def test_the_open_benchmark_runs_end_to_end(postgres, transactional_db, question_bank, capsys):
    from surveys.models import Organization

    call_command("benchmark", "open", "--people", "300", "--teams", "12", "--repeat", "1")
    out = capsys.readouterr().out
    assert "round_open (the service)" in out and "plain INSERT … SELECT (baseline)" in out and "ratio" in out
    assert not Organization.objects.filter(slug__startswith="benchmark-").exists()
