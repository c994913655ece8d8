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
