import importlib

from django.core.management.base import BaseCommand, CommandError

try:  # a development install: the production image leaves the benchmarks out
    import benchmarks
except ImportError:
    benchmarks = None  # type: ignore[assignment]


class Command(BaseCommand):
    help = (
        "Run a benchmark and print its figures beside a baseline measured in the same run, on a "
        "database it creates for the run (never the one the settings name)."
    )

    def add_arguments(self, parser):
        if benchmarks is None:
            return
        names = benchmarks.BENCHMARKS
        subparsers = parser.add_subparsers(dest="benchmark", metavar="{" + ",".join(names) + "}")
        for name, module_path in names.items():
            module = importlib.import_module(module_path)
            summary = (module.__doc__ or "").strip().splitlines()[0]
            sub = subparsers.add_parser(name, help=summary.replace("%", "%%"))  # argparse formats help with %
            module.add_arguments(sub)
            if name not in benchmarks.WITHOUT_DATABASE:
                sub.add_argument(
                    "--keep-database",
                    action="store_true",
                    help="Keep the database made for the run (named at the end).",
                )

    def handle(self, *args, **options):
        if benchmarks is None:
            raise CommandError(
                "The benchmarks are not installed here: they live in benchmarks/ of a development checkout "
                "(the production image leaves them out)."
            )
        name = options.pop("benchmark", None)
        for stream in ("stdout", "stderr"):  # the command's own (self.stdout), when call_command names them
            options.pop(stream, None)
        if name not in benchmarks.BENCHMARKS:
            raise CommandError(f"Choose a benchmark: {', '.join(benchmarks.BENCHMARKS)}")
        module = importlib.import_module(benchmarks.BENCHMARKS[name])
        if name in benchmarks.WITHOUT_DATABASE:
            module.run(stdout=self.stdout, **options)
            return
        from benchmarks.database import bench_database

        keep = options.pop("keep_database") or options.get("keep", False)
        with bench_database(name, stdout=self.stdout, keep=keep):
            module.run(stdout=self.stdout, **options)
