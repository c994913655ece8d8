"""Bulk builders for rounds with people, invitations and answers (what the answering flow
writes), for aggregation, privacy and results tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import secrets
from collections.abc import Sequence

from django.db.models import F
from django.utils import timezone

from surveys.models import (
    Invitation,
    Membership,
    Role,
    Round,
    RoundQuestion,
    RoundStatus,
    Team,
    User,
)
from surveys.services.responses import response_submit
from tests.support.factories import RoundFactory, snapshot_invited

_people = itertools.count(1)


def staff(team: Team, count: int, *, role: str = Role.EMPLOYEE) -> list[Membership]:
    """`count` new people whose team is `team`."""
    users = User.objects.bulk_create(
        User(email=f"staff{next(_people)}-{secrets.token_hex(3)}@example.test", name="Staff") for _ in range(count)
    )
    return Membership.all_organizations.bulk_create(
        Membership(organization=team.organization, user=user, role=role, team=team) for user in users
    )


def invite_everyone(round_: Round, memberships: Sequence[Membership]) -> list[Invitation]:
    invitations = Invitation.all_organizations.bulk_create(
        Invitation(
            organization=round_.organization,
            round=round_,
            membership=m,
            team_id=m.team_id,
            token_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
        )
        for m in memberships
    )
    Round.all_organizations.filter(pk=round_.pk).update(invited_count=F("invited_count") + len(invitations))
    snapshot_invited(round_)
    return invitations


def question_ids(round_: Round) -> list[int]:
    return list(
        RoundQuestion.all_organizations.filter(round=round_)
        .order_by("position", "question_id")
        .values_list("question_id", flat=True)
    )


def respond(
    round_: Round,
    membership: Membership,
    values: Sequence[int | None] | int | None = 3,
    *,
    comment: str = "",
    questions: list[int] | None = None,
) -> None:
    """One person answers through the real submission service (`response_submit`), so every
    test stores exactly what the answering page stores: a Participation, and apart from it a
    Response with the invitation's team snapshot, its Answers (None skips an item) and an
    optional Comment. The round must be open."""
    questions = questions if questions is not None else question_ids(round_)
    if values is None or isinstance(values, int):
        values = [values] * len(questions)
    invitation = Invitation.all_organizations.select_related("organization").get(round=round_, membership=membership)
    answers = {question: value for question, value in zip(questions, values, strict=True) if value is not None}
    response_submit(invitation=invitation, answers=answers, comment=comment)


def team_round(
    survey,
    sizes: dict[Team, int],
    *,
    answered: dict[Team, int] | None = None,
    value: int | Sequence[int | None] = 4,
    number: int | None = None,
    close: bool = True,
) -> Round:
    """A round of `survey` where `sizes[team]` people of each team are invited and
    `answered[team]` of them (default: all) answer every item with `value`."""
    extra = {} if number is None else {"number": number}
    round_ = RoundFactory(survey=survey, **extra)
    for team, size in sizes.items():
        people = staff(team, size)
        invite_everyone(round_, people)
        questions = question_ids(round_)
        for membership in people[: (answered or sizes).get(team, size)]:
            respond(round_, membership, value, questions=questions)
    if close:
        close_round(round_)
    return round_


def close_round(round_: Round) -> Round:
    now = timezone.now()
    Round.all_organizations.filter(pk=round_.pk).update(
        status=RoundStatus.CLOSED, closes_at=now, opens_at=now - dt.timedelta(days=5), closed_at=now
    )
    round_.refresh_from_db()
    return round_
