"""Another organisation's long transaction, held open beside a benchmark's timed step.

No tenant should wait on another (docs/decisions/2026-12-07-no-tenant-waits-on-another.md).
`beside_neighbour(step)` runs `step` while, in a thread with its own connection, a second
organisation is in the middle of a transaction that did what a busy tenant's does to the
tables of what was said: created a round (its partitions attached), wrote a response and read
its round back. The transaction stays open until the step is done (at most `hold` seconds),
then rolls back. The wait is the step's time beside it less its time alone.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from surveys.core.tenancy import organization_scope
from surveys.models import Organization, Response, Round, RoundStatus, Survey, Team

HOLD_SECONDS = 20.0


def beside_neighbour(step: Callable[[], object], *, hold: float = HOLD_SECONDS) -> float:
    """Seconds `step` took while another organisation's transaction was open."""
    holding, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []
    thread = threading.Thread(target=_neighbour, args=(holding, release, hold, failures), daemon=True)
    thread.start()
    holding.wait(60)
    if failures:
        raise failures[0]
    started = time.perf_counter()
    try:
        step()
        return time.perf_counter() - started
    finally:
        release.set()
        thread.join(hold + 30)


def _neighbour(holding: threading.Event, release: threading.Event, hold: float, failures: list) -> None:
    tag = secrets.token_hex(4)
    try:
        with transaction.atomic():
            organization = Organization.objects.create(name=f"Neighbour {tag}", slug=f"neighbour-{tag}")
            with organization_scope(organization):
                team = Team.objects.create(name="Neighbours", path="Neighbours")
                survey = Survey.objects.create(name=f"Neighbour pulse {tag}")
                now = datetime.now(UTC)
                round_ = Round.objects.create(
                    survey=survey,
                    number=1,
                    status=RoundStatus.OPEN,
                    opens_at=now,
                    closes_at=now + timedelta(days=5),
                    k=organization.k,
                    k_comments=organization.k_comments,
                )
                Response.objects.create(round=round_, team=team)
                Response.objects.filter(round=round_).count()
                holding.set()
                release.wait(hold)
                transaction.set_rollback(True)
    except BaseException as error:
        failures.append(error)
        holding.set()
    finally:
        connection.close()


def wait_line(label: str, *, alone: float, beside: float, hold: float = HOLD_SECONDS) -> str:
    waited = max(0.0, beside - alone)
    verdict = "no wait" if waited < 1.0 else ("waited for its commit" if beside >= hold * 0.9 else "waited")
    return (
        f"  {label} beside another organisation's open transaction: {beside * 1000:.1f} ms "
        f"(alone {alone * 1000:.1f} ms, its transaction held up to {hold:.0f} s): "
        f"waited {waited * 1000:.1f} ms, {verdict}"
    )
