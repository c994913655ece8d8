"""Which domain error a test expects: `PulseError` alone says only that something was refused."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from surveys.core.exceptions import PulseError


@contextmanager
def refused(code: str, *, match: str | None = None) -> Iterator[pytest.ExceptionInfo[PulseError]]:
    """`pytest.raises(PulseError)` that also checks the error's `code` (and its message against
    `match`, when given): the refusal the test means, not any refusal."""
    with pytest.raises(PulseError, match=match) as raised:
        yield raised
    assert raised.value.code == code, f"refused with code {raised.value.code!r}: {raised.value.message}"
