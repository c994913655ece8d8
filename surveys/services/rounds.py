"""A round's life: scheduled → open → closed (then the aggregation engine publishes it).

Every transition locks the round row (`select_for_update`) and checks its status first, so the
jobs, a doubled beat and HR's buttons can race without opening, inviting or closing anything
twice.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.core.bulk import bulk_update
from surveys.core.enqueue import enqueue
from surveys.core.exceptions import PulseError
from surveys.core.tokens import token_hash, token_new
from surveys.engine.aggregation import team_forest
from surveys.engine.scheduling import Window, next_window, restarted_window
from surveys.models import (
    Invitation,
    Organization,
    Round,
    RoundQuestion,
    RoundStatus,
    RoundTeam,
    Survey,
    SurveyQuestion,
    Team,
)
from surveys.privacy.rules import thresholds_check
from surveys.privacy.units import reporting_units
from surveys.selectors.surveys import survey_invitees

logger = logging.getLogger(__name__)


def round_schedule_next(*, survey: Survey, now: dt.datetime | None = None) -> Round | None:
    """Make sure the survey's next round exists as a `scheduled` row, so HR sees what is coming.

    Returns the scheduled round (existing or new), or None for a draft or a paused survey.
    """
    now = now or timezone.now()
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if not survey.is_planning:
            return None
        scheduled = Round.objects.filter(survey=survey, status=RoundStatus.SCHEDULED).order_by("number").first()
        if scheduled is not None:
            return scheduled
        last = Round.objects.filter(survey=survey).order_by("-number").first()
        window = next_window(
            cadence=survey.cadence,
            starts_on=survey.starts_on,
            open_days=survey.open_days,
            not_before=last.closes_at if last else None,
            now=now,
        )
        number = (Round.objects.filter(survey=survey).aggregate(top=Max("number"))["top"] or 0) + 1
        return Round.objects.create(
            organization=survey.organization,
            survey=survey,
            number=number,
            opens_at=window.opens_at,
            closes_at=window.closes_at,
        )


def round_open(*, round_: Round, now: dt.datetime | None = None) -> Round:
    """Open a scheduled round: the jobs call it when it is due, HR's "Open now" before that.

    In one transaction: freeze the questions, lock `k` and `k_comments` from the organisation,
    freeze the scope (the survey's root team and the parent of every team in it), snapshot who
    is invited and the team each person counts for, group them into reporting units, schedule
    the next round. Everything the
    round will publish depends only on what is frozen here (docs/privacy.md, "Frozen at open").
    Invitations are e-mailed after commit by the `round_invitations_send` task. A round that
    is no longer scheduled is returned unchanged (someone else opened it first).
    """
    now = now or timezone.now()
    with transaction.atomic():
        # Survey first, then round: the order survey_update and round_schedule_next lock in.
        survey = Survey.objects.select_for_update().get(pk=round_.survey_id)
        round_ = Round.objects.select_for_update().get(pk=round_.pk)
        if round_.status != RoundStatus.SCHEDULED:
            return round_
        round_.survey = survey
        _refuse_overlap(round_)
        organization = Organization.objects.get(pk=round_.organization_id)
        window = restarted_window(window=Window(round_.opens_at, round_.closes_at), open_days=survey.open_days, now=now)
        _freeze_questions(round_)
        round_.scope_root = survey.root_team
        round_.invited_count = _snapshot_invitations(round_)
        round_.k, round_.k_comments = organization.k, organization.k_comments
        round_units_freeze(round_=round_)
        round_.opens_at, round_.closes_at = window.opens_at, window.closes_at
        round_.status, round_.opened_at = RoundStatus.OPEN, now
        round_.save()
        round_schedule_next(survey=survey, now=now)
        enqueue("surveys.tasks.round_invitations_send", round_.pk)
    logger.info("Opened round %s (organisation %s).", round_.pk, round_.organization_id)
    return round_


def round_close(*, round_: Round, now: dt.datetime | None = None) -> Round:
    """Close an open round (its time is up, or HR closed it early) and hand it to aggregation.

    From here no answer is accepted: the answering page checks the status. A round that is no
    longer open is returned unchanged.
    """
    now = now or timezone.now()
    with transaction.atomic():
        round_ = Round.objects.select_for_update().get(pk=round_.pk)
        if round_.status != RoundStatus.OPEN:
            return round_
        # Closing early ends the window now; the check constraint wants it after the opening.
        round_.closes_at = min(round_.closes_at, max(now, round_.opens_at + dt.timedelta(seconds=1)))
        round_.status, round_.closed_at = RoundStatus.CLOSED, now
        round_.save(update_fields=["closes_at", "status", "closed_at"])
        # Sealing and publication follow (round_publish); rounds_aggregate_pending catches a lost hand-over.
        enqueue("surveys.tasks.round_aggregate", round_.pk)
    logger.info("Closed round %s (organisation %s).", round_.pk, round_.organization_id)
    return round_


def _refuse_overlap(round_: Round) -> None:
    """Two open rounds of one survey would split people's answers between them."""
    if Round.objects.filter(survey_id=round_.survey_id, status=RoundStatus.OPEN).exclude(pk=round_.pk).exists():
        raise PulseError(
            _("Another round of this survey is still open. Close it before opening the next one."),
            code="round_overlap",
        )


def _freeze_questions(round_: Round) -> None:
    """Copy the survey's questions, so editing the survey later cannot change an open round."""
    RoundQuestion.objects.filter(round=round_).delete()
    chosen = SurveyQuestion.objects.filter(survey_id=round_.survey_id, question__is_active=True).order_by("position")
    RoundQuestion.objects.bulk_create(
        RoundQuestion(organization_id=round_.organization_id, round=round_, question_id=sq.question_id, position=i)
        for i, sq in enumerate(chosen)
    )


def _snapshot_invitations(round_: Round) -> int:
    """One invitation per invitee, with the team they count for in this round, and the count of
    invitees per team (`RoundTeam`), which aggregation reads instead of grouping invitations.

    The stored hash is of a token nobody ever sees: the real link is issued when the e-mail is
    sent (`round_invitations_send`), so the clear token exists only in that e-mail. On
    PostgreSQL one `INSERT … SELECT` writes them all (the placeholder hashed from 244 random
    bits of two UUIDs), at the cost of the insert itself; elsewhere (the demo) through the ORM.
    """
    if connection.vendor == "postgresql":
        count = _insert_invitations(round_)
        round_team_snapshot(round_=round_)
        return count
    invitees = survey_invitees(survey=round_.survey).values_list("pk", "team_id")
    invitations = [
        Invitation(
            organization_id=round_.organization_id,
            round=round_,
            membership_id=membership_id,
            team_id=team_id,
            token_hash=token_hash(token_new()),
        )
        for membership_id, team_id in invitees
    ]
    Invitation.objects.bulk_create(invitations, batch_size=1000)
    round_team_snapshot(round_=round_)
    return len(invitations)


def _insert_invitations(round_: Round) -> int:
    invitees_sql, params = survey_invitees(survey=round_.survey).values("id", "team_id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Invitation._meta.db_table} "
            "(organization_id, round_id, membership_id, team_id, token_hash, previous_token_hash) "
            "SELECT %s, %s, invitee.id, invitee.team_id, "
            "encode(sha256(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())), 'hex'), '' "
            f"FROM ({invitees_sql}) invitee",
            [round_.organization_id, round_.pk, *params],
        )
        return cursor.rowcount


def round_team_snapshot(*, round_: Round) -> None:
    """Freeze the round's tree: every team of its scope (`round_.scope_root`'s subtree, or the
    whole organisation) with its parent now (none for the scope root) and how many people the
    round invited in it, counted from its invitations in the same statement (so the counts
    equal them by construction). Part of opening a round; aggregation and the audit read this
    tree, never the current one.
    """
    RoundTeam.objects.filter(round=round_).delete()
    scope = Team.objects.order_by()
    if round_.scope_root is not None:
        scope = scope.filter(round_.scope_root.subtree_filter())
    teams_sql, teams_params = scope.values("id", "parent_id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {RoundTeam._meta.db_table} (organization_id, round_id, team_id, parent_id, invited) "
            "SELECT %s, %s, scope.id, CASE WHEN scope.id = %s THEN NULL ELSE scope.parent_id END, "
            f"COALESCE(counted.n, 0) FROM ({teams_sql}) scope LEFT JOIN ("
            f"SELECT team_id, count(*) AS n FROM {Invitation._meta.db_table} "
            "WHERE organization_id = %s AND round_id = %s GROUP BY team_id) counted ON counted.team_id = scope.id",
            [round_.organization_id, round_.pk, round_.scope_root_id, *teams_params, round_.organization_id, round_.pk],
        )


def round_units_freeze(*, round_: Round) -> None:
    """Group the round's invitees into reporting units (`privacy.units.reporting_units`) from
    its frozen tree and counts and the `k` it locked, and store each team's unit with the tree
    (`RoundTeam.unit`). Part of opening a round: from here on its units never change."""
    rows = list(RoundTeam.objects.filter(round=round_).values_list("id", "team_id", "parent_id", "invited"))
    if not rows:
        return
    forest = team_forest(np.array([(team, parent or 0) for _, team, parent, _ in rows], dtype=np.int64))
    invited = {team: people for _, team, _, people in rows}
    people = np.array([invited[team] for team in forest.ids.tolist()], dtype=np.int64)
    k, _ = thresholds_check(k=round_.k, k_comments=round_.k_comments)
    home = reporting_units(parent=forest.parent, invited=people, k=k)
    teams = forest.ids.tolist()
    unit_of = {team: (teams[h] if h >= 0 else None) for team, h in zip(teams, home.tolist(), strict=True)}
    bulk_update(RoundTeam, ["id", "unit_id"], [(row_id, unit_of.get(team)) for row_id, team, _, _ in rows])
