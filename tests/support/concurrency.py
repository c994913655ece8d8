"""Run the same work in several threads at the same moment, as two workers or two requests would."""

import threading
from collections.abc import Callable

from django.db import connections


def at_once(work: Callable[[], object], *, times: int = 2, timeout: float = 60) -> tuple[list, list[Exception]]:
    """Start `times` threads that wait for each other, then all call `work`; returns what the
    calls returned and the errors they raised. Each thread closes its own database connections."""
    start = threading.Barrier(times)
    results: list = []
    errors: list[Exception] = []

    def run() -> None:
        try:
            start.wait()
            results.append(work())
        except Exception as error:  # collected for the test's assertion
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results, errors
