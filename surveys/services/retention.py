"""Retention: what Pulse keeps, for how long, and removing an organisation entirely
(docs/operations.md, "Retention").

A round's raw answers, comments and participation flags serve one purpose: its publication.
Once published, pages, e-mails and the API read the published results alone, so the round's
raw rows are deleted `Organization.answers_kept_days` after publication (`answers_purge_due`,
a scheduled job). On PostgreSQL what was said lives in partitions of its own per round
(migration 0011), and deleting it is dropping them (`pulse_said_purge`): the cost is the
round's catalogue entries, not its rows, and nothing is left for a VACUUM. Participation flags
are deleted with them: after publication nothing needs to know who answered. A purged round's
dashboards still draw its figures; its comments are gone, and the page says when and why.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection, transaction
from django.utils import timezone

from surveys.core.tenancy import across_organizations, organization_scope
from surveys.models import (
    Answer,
    Comment,
    Membership,
    Organization,
    Participation,
    Response,
    Round,
    RoundStatus,
    User,
    answers_purge_at,
)
from surveys.selectors.results import cached_views_forget
from surveys.services.audit import audit_events_forget

logger = logging.getLogger(__name__)

#: Rounds purged by one run of the job, each in its own transaction; the next run takes the rest.
PURGE_BATCH_ROUNDS = 50
#: Rows deleted per statement where there are no partitions to drop (SQLite: the demo).
PURGE_BATCH_ROWS = 5_000


def answers_purge_due(*, now: dt.datetime | None = None, batch: int = PURGE_BATCH_ROUNDS) -> int:
    """Delete the raw answers, comments and participation flags of every published round whose
    retention has run out, oldest first, at most `batch` rounds; returns how many were purged.
    Spans organisations only to find the due rounds; each is purged in its own scope."""
    now = now or timezone.now()
    candidates = Round.all_organizations.filter(status=RoundStatus.PUBLISHED, answers_purged_at__isnull=True)
    with across_organizations():
        rows = list(candidates.values_list("pk", "published_at", "organization__answers_kept_days").order_by("pk"))
    due = [
        round_id
        for round_id, published_at, kept_days in sorted(rows, key=lambda row: (row[1] is None, row[1] or now))
        if (purge_at := answers_purge_at(published_at=published_at, kept_days=kept_days)) and purge_at <= now
    ][:batch]
    purged = 0
    organizations: set[int] = set()
    for round_id in due:
        with across_organizations():
            round_ = Round.all_organizations.select_related("organization").get(pk=round_id)
        with organization_scope(round_.organization):
            purged += round_answers_purge(round_id=round_id, now=now)
        organizations.add(round_.organization_id)
    for organization_id in organizations:
        cached_views_forget(organization_id=organization_id)
    return purged


def round_answers_purge(*, round_id: int, now: dt.datetime | None = None) -> bool:
    """Delete one published round's raw answers, comments and participation flags, once;
    its Results stay. False when there was nothing to do (not published, or purged already)."""
    with transaction.atomic():
        round_ = Round.objects.select_for_update(of=("self",), no_key=True).get(pk=round_id)
        if not round_.is_published or round_.answers_purged_at is not None:
            return False
        _said_drop(round_.pk)
        _rows_delete(Participation.objects.filter(round_id=round_.pk))
        round_.answers_purged_at = now or timezone.now()
        round_.save(update_fields=["answers_purged_at"])
    logger.info("Round %s: raw answers, comments and participation deleted under retention.", round_id)
    return True


def _said_drop(round_id: int) -> None:
    """What was said in a round, gone: its partitions dropped (PostgreSQL), or its rows deleted
    in batches."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pulse_said_purge(%s)", [round_id])
        return
    for model in (Answer, Comment, Response):
        _rows_delete(model.objects.filter(round_id=round_id))


def _rows_delete(rows) -> None:
    while ids := list(rows.values_list("pk", flat=True)[:PURGE_BATCH_ROWS]):
        rows.model.objects.filter(pk__in=ids).delete()


def organization_delete(*, organization: Organization) -> None:
    """Remove an organisation and everything it holds: every tenant row (Django's cascade),
    what was said with its partitions, the accounts of people who belong to no other
    organisation, and what the cache holds of its results."""
    organization_id = organization.pk
    with across_organizations(), transaction.atomic():
        Organization.objects.select_for_update().get(pk=organization_id)
        if connection.vendor == "postgresql":  # elsewhere the cascade below deletes what was said
            for round_id in Round.all_organizations.filter(organization_id=organization_id).values_list(
                "pk", flat=True
            ):
                _said_drop(round_id)
        members = Membership.all_organizations.filter(organization_id=organization_id)
        user_ids = set(members.values_list("user_id", flat=True))
        Organization.objects.filter(pk=organization_id).delete()
        # Deleting it wrote events of every row it held: its log goes last.
        audit_events_forget(organization_id=organization_id)
        alone = User.objects.filter(pk__in=user_ids, memberships__isnull=True, is_staff=False, is_superuser=False)
        alone.delete()
    cached_views_forget(organization_id=organization_id)
    logger.info("Organisation %s deleted with everything it held.", organization_id)
