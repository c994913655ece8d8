"""Benchmarks run by `manage.py benchmark <name>` in a development install (the production image
leaves this package out: .dockerignore). Each module has `add_arguments(parser)` and
`run(*, stdout, **options)`, and measures its subject beside a baseline in the same run.

Those that need a database write to one `manage.py benchmark` created for the run and drops
afterwards, never to the database the settings name (`benchmarks.database`)."""

#: benchmark name -> module path
BENCHMARKS: dict[str, str] = {
    "roster_import": "benchmarks.roster_import",
    "aggregate": "benchmarks.aggregate",
    "submit": "benchmarks.submit",
    "publication": "benchmarks.publication",
    "export": "benchmarks.export",
    "change_detection": "benchmarks.change_detection",
    "signin": "benchmarks.signin",
    "pages": "benchmarks.pages",
    "seal": "benchmarks.seal",
    "open": "benchmarks.open",
}
#: Benchmarks of pure computations: they touch no database at all.
WITHOUT_DATABASE = frozenset({"publication", "change_detection"})
