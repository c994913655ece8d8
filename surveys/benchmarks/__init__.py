"""Benchmarks run by `manage.py benchmark <name>`. Each module has `add_arguments(parser)` and
`run(*, stdout, **options)`, and measures its subject beside a baseline in the same run."""

#: benchmark name -> module path
BENCHMARKS: dict[str, str] = {
    "roster_import": "surveys.benchmarks.roster_import",
    "aggregate": "surveys.benchmarks.aggregate",
    "submit": "surveys.benchmarks.submit",
    "publication": "surveys.benchmarks.publication",
    "export": "surveys.benchmarks.export",
    "change_detection": "surveys.benchmarks.change_detection",
    "signin": "surveys.benchmarks.signin",
    "pages": "surveys.benchmarks.pages",
    "seal": "surveys.benchmarks.seal",
    "open": "surveys.benchmarks.open",
}
