"""Named phases of a long operation, timed only when someone records them (the benchmarks).

`with phase("audit"):` costs a context-variable read when nobody records, so services can mark
their phases without slowing down in production.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_recorder: ContextVar[dict[str, float] | None] = ContextVar("pulse_phases", default=None)


@contextmanager
def phase(name: str) -> Iterator[None]:
    recorder = _recorder.get()
    if recorder is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        recorder[name] = recorder.get(name, 0.0) + time.perf_counter() - started


def phase_started(name: str) -> Callable[[], None]:
    """For a phase that does not fit a `with` block (a commit, which happens when one ends):
    call the returned function when it is over."""
    recorder = _recorder.get()
    if recorder is None:
        return _nothing
    started = time.perf_counter()

    def stop() -> None:
        recorder[name] = recorder.get(name, 0.0) + time.perf_counter() - started

    return stop


def _nothing() -> None:
    return None


@contextmanager
def phases_recorded() -> Iterator[dict[str, float]]:
    """Collect the seconds spent in each phase run inside the block (summed by name)."""
    recorder: dict[str, float] = {}
    token = _recorder.set(recorder)
    try:
        yield recorder
    finally:
        _recorder.reset(token)
