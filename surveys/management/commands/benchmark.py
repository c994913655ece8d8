import importlib

from django.core.management.base import BaseCommand, CommandError

from surveys.benchmarks import BENCHMARKS


class Command(BaseCommand):
    help = "Run a benchmark and print its figures beside a baseline measured in the same run."

    def add_arguments(self, parser):
        subparsers = parser.add_subparsers(dest="benchmark", metavar="{" + ",".join(BENCHMARKS) + "}")
        for name, module_path in BENCHMARKS.items():
            module = importlib.import_module(module_path)
            summary = (module.__doc__ or "").strip().splitlines()[0]
            sub = subparsers.add_parser(name, help=summary.replace("%", "%%"))  # argparse formats help with %
            module.add_arguments(sub)

    def handle(self, *args, **options):
        name = options.pop("benchmark", None)
        if name not in BENCHMARKS:
            raise CommandError(f"Choose a benchmark: {', '.join(BENCHMARKS) or '(none yet)'}")
        importlib.import_module(BENCHMARKS[name]).run(stdout=self.stdout, **options)
