"""Handing work to the Celery workers from a service: one helper, one convention.

Services never import the tasks module (tasks call services, not the other way round): they
name the task. The message is sent once the current transaction commits, so a worker never
looks for a row that is not there yet; outside a transaction it is sent at once.

A name no task is registered as is a bug, not an outage: in process (no broker: the demo, the
tests) `enqueue` refuses it at once, loudly; `tests/test_enqueue.py` checks every name the code
queues and the beat schedule names.

A broker that is down never undoes or fails the work that asked for the task: the failure is
logged and the caller's transaction stands. Each kind of work has a safety net that finds what
was not handed over (`rounds_aggregate_pending`, the unsent-invitation retry of
`rounds_open_due`, the stranded-import job, `messages_resume` for every message), so a lost
message delays work, never loses it.
"""

from __future__ import annotations

import functools
import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


class UnknownTaskError(LookupError):
    """`enqueue` named a task that is not registered: a misspelt or renamed task."""


def enqueue(task_name: str, *args: object) -> None:
    """Queue the task registered as `task_name` with `args`, after the current transaction
    commits. With no broker configured (the demo, the tests) the task runs in process then, and
    a name no task is registered as raises UnknownTaskError here, before anything is committed."""
    if current_app.conf.task_always_eager and task_name not in current_app.tasks:
        raise UnknownTaskError(f"No Celery task is registered as {task_name!r} (see surveys/tasks.py).")
    transaction.on_commit(functools.partial(_send, task_name, args))


def _send(task_name: str, args: tuple) -> None:
    try:
        current_app.tasks[task_name].apply_async(args=args)
    except Exception:
        # Whatever failed (the broker, or the task itself when it runs in process), the work
        # that asked for it is committed and its safety net will pick it up.
        logger.exception("Could not run or queue %s%s; its safety net will pick it up.", task_name, args)
