"""Published rounds built through the real pipeline (bulk answers, then `results_publish`), for
the results pages' tests and screenshots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils import timezone

from surveys.models import Round, Team
from surveys.services.results import results_publish
from tests.support.factories import RoundFactory
from tests.support.survey_data import close_round, invite_everyone, question_ids, respond, staff

#: How far each person's answers sit from the team's centre, item by item (a varied spread).
_OFFSETS = (0, 1, -1, 0, 1, 0, -1, 0, 1, -1, 0)


#: The core items of the bank (version 3: two per condition and two per burnout sign), in order.
CORE_ITEMS = 12


#: Autonomy's centre round by round in the examples of a lasting drop: steady for three rounds,
#: then down for three, so that the comparison at round 6 (rounds 4–6 against 1–3) holds it all.
FALLING = (4, 4, 4, 2, 2, 2)


def centres(autonomy: int = 4) -> list[int]:
    """Centres of the core items: autonomy's as given, the other conditions at 4, the signs at 2."""
    return [autonomy, autonomy, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2]


def spread(count: int, centres: Sequence[int] | int, *, items: int = CORE_ITEMS) -> list[list[int]]:
    """`count` people's answers to `items` items, scattered around `centres` (one per item)."""
    if isinstance(centres, int):
        centres = [centres] * items
    return [
        [min(5, max(1, centres[j] + _OFFSETS[(3 * person + j) % len(_OFFSETS)])) for j in range(items)]
        for person in range(count)
    ]


def published_round(
    survey,
    answers: dict[Team, list[Sequence[int | None]]],
    *,
    number: int,
    silent: dict[Team, int] | None = None,
    comments: dict[Team, Sequence[str]] | None = None,
    days_ago: int = 0,
) -> Round:
    """A round of `survey` where each team's people give `answers` (one list per person),
    `silent[team]` more are invited and do not answer, then closed and published."""
    round_ = RoundFactory(survey=survey, number=number)
    questions = question_ids(round_)
    for team, rows in answers.items():
        people = staff(team, len(rows) + (silent or {}).get(team, 0))
        invite_everyone(round_, people)
        texts = list((comments or {}).get(team, ()))
        for person, values in zip(people, rows, strict=False):
            respond(round_, person, values, questions=questions, comment=texts.pop() if texts else "")
    close_round(round_)
    if days_ago:
        closed = timezone.now() - dt.timedelta(days=days_ago)
        Round.all_organizations.filter(pk=round_.pk).update(
            opens_at=closed - dt.timedelta(days=5), closes_at=closed, closed_at=closed
        )
    results_publish(round_id=round_.pk)
    round_.refresh_from_db()
    return round_


def history(
    tenant, survey, *, rounds: int = 4, comments: bool = True, others: dict[Team, tuple[int, int]] | None = None
) -> list[Round]:
    """`rounds` published rounds, a fortnight apart: Platform (6 people, one silent) and Product
    (8) whose autonomy climbs from "disagree" to "agree" while the rest holds steady. With
    comments, Engineering (13 respondents) reaches k_comments (10); its sub-teams do not.
    `others` adds teams answering around one value: {team: (people, centre)}."""
    made = []
    for number in range(1, rounds + 1):
        autonomy = 2 if number <= rounds // 2 else 4
        centres = [autonomy, autonomy, 4, 3, 4, 4, 4, 3, 3, 3, 2, 2]
        texts = {
            tenant.platform: [f"Platform round {number}: the new deploy pipeline saves us hours."],
            tenant.product: [f"Product round {number}: too many meetings on Fridays.", "Planning felt calmer."],
        }
        made.append(
            published_round(
                survey,
                {
                    tenant.platform: spread(5, centres),
                    tenant.product: spread(8, centres),
                    **{team: spread(size, centre) for team, (size, centre) in (others or {}).items()},
                },
                number=number,
                silent={tenant.platform: 1},
                comments=texts if comments else None,
                days_ago=14 * (rounds - number) + 1,
            )
        )
    return made
