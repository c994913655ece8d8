"""Reads for the answering flow: what state a link is in, the items to ask, what to show after.

Everything here is cheap on purpose (one small query each): the answering page is opened by
everyone in the organisation within minutes of the invitation e-mail.
"""

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from django.db.models import Q
from django.utils.translation import gettext_lazy

from surveys.core.words import Words
from surveys.models import (
    SCALE_LABELS,
    ActionPlan,
    AnsweringPhase,
    Construct,
    Invitation,
    Organization,
    Participation,
    Round,
    RoundQuestion,
    RoundStatus,
    Scale,
    Survey,
    SurveyQuestion,
)
from surveys.selectors.results import team_latest_results

FREQUENCY_PROMPT = gettext_lazy("Since the last pulse, how often…")
AGREE_PROMPT = gettext_lazy("How much do you agree?")
SAFE_LINK_SCHEMES = {"http", "https", "mailto", "tel"}


def invitation_with_round(*, invitation: Invitation) -> Invitation:
    """The invitation with its round and the round's survey attached, in one query, for the
    pages that show them (the gatekeeper leaves them out to stay cheap on submission)."""
    invitation.round = Round.objects.select_related("survey").get(pk=invitation.round_id)
    return invitation


class AnswerState(StrEnum):
    NOT_OPEN_YET = "not_open_yet"
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


def invitation_state(*, invitation: Invitation) -> AnswerState:
    """Where this person stands with this round. "Answered" wins over "closed": it is the more
    useful thing to tell them, and only the holder of the link (or the signed-in person) sees it."""
    phase = invitation.round.answering_phase()
    if phase == AnsweringPhase.NOT_OPEN_YET:
        return AnswerState.NOT_OPEN_YET
    if Participation.objects.filter(round_id=invitation.round_id, membership_id=invitation.membership_id).exists():
        return AnswerState.ANSWERED
    return AnswerState(phase.value)


@dataclass(frozen=True)
class Item:
    """One question as the answering page shows it."""

    question_id: int
    position: int
    prompt: Words
    text: str
    options: tuple[tuple[str, Words], ...]  # (posted value, label)
    construct: str = ""

    @property
    def field_name(self) -> str:
        return f"q{self.question_id}"


def answering_items(*, round_id: int) -> list[Item]:
    """The round's frozen questions, in order, with their scale labels and lead-in prompt."""
    rows = (
        RoundQuestion.objects.filter(round_id=round_id)
        .order_by("position", "pk")
        .values_list("question_id", "question__text", "question__scale", "question__construct")
    )
    return _items(rows)


def survey_preview_items(*, survey: Survey) -> list[Item]:
    """The survey's questions as its next round would ask them: what HR's preview shows."""
    rows = (
        SurveyQuestion.objects.filter(survey=survey, question__is_active=True)
        .order_by("position", "pk")
        .values_list("question_id", "question__text", "question__scale", "question__construct")
    )
    return _items(rows)


def _items(rows) -> list[Item]:
    return [
        Item(
            question_id=question_id,
            position=position,
            prompt=FREQUENCY_PROMPT if scale == Scale.FREQUENCY else AGREE_PROMPT,
            text=text,
            options=tuple((str(value), label) for value, label in enumerate(SCALE_LABELS[scale], start=1)),
            construct=construct,
        )
        for position, (question_id, text, scale, construct) in enumerate(rows, start=1)
    ]


#: What each part of the answering page is called: plain words, never the construct's name.
STEP_TITLES: dict[str, Words] = {
    Construct.AUTONOMY: gettext_lazy("Your say in your work"),
    Construct.COMPETENCE: gettext_lazy("Doing your work well"),
    Construct.RELATEDNESS: gettext_lazy("The people you work with"),
    Construct.BENEFICENCE: gettext_lazy("What your work does for others"),
    Construct.EXHAUSTION: gettext_lazy("Your energy"),
    Construct.MENTAL_DISTANCE: gettext_lazy("How you feel about your work"),
    Construct.CONTEXT: gettext_lazy("Working conditions"),
    Construct.CUSTOM: gettext_lazy("A few more questions"),
}


@dataclass(frozen=True)
class Step:
    """One screen of the answering page: the questions of one construct (consecutive)."""

    number: int
    title: Words
    items: tuple  # ShownItem (forms.answering) or Item


def answering_steps(items: list) -> list[Step]:
    """Consecutive questions of the same construct as one screen each, in order. `items` are
    Items or anything with an `.item` Item (the form's ShownItems)."""
    steps: list[list] = []
    last = None
    for shown in items:
        construct = getattr(shown, "item", shown).construct
        if not steps or construct != last:
            steps.append([])
        steps[-1].append(shown)
        last = construct
    return [
        Step(
            number,
            STEP_TITLES.get(getattr(group[0], "item", group[0]).construct, gettext_lazy("Questions")),
            tuple(group),
        )
        for number, group in enumerate(steps, start=1)
    ]


def support_resources(*, organization: Organization, survey: Survey) -> list[dict]:
    """The survey's and the organisation's support text and links, without queries.

    Links an admin typed are shown as links only for ordinary schemes, so a `javascript:`
    address pasted into the settings cannot run in a respondent's browser.
    """
    resources = []
    for source in (survey, organization):
        links = [link for link in source.support_link_list() if _is_safe_link(link["url"])]
        if source.support_text.strip() or links:
            resources.append({"text": source.support_text.strip(), "links": links})
    return resources


def _is_safe_link(url: str) -> bool:
    return urlsplit(url).scheme.lower() in SAFE_LINK_SCHEMES


def what_changed(*, invitation: Invitation) -> dict:
    """What the thanks page shows about the person's team: its latest published results (or
    those of the nearest team above it, if it was too small) with what changed since the rounds
    before, and its action plans, most recent first.

    Only plans not tied to a round, or tied to a published one: nothing from a round whose
    results are not out yet. Results come from published Result rows only, never answers.
    """
    latest = team_latest_results(team=invitation.team, survey=invitation.round.survey)
    return {"team": invitation.team, "action_plans": team_plans(team_id=invitation.team_id), "team_results": latest}


def team_plans(*, team_id: int) -> list[ActionPlan]:
    """The team's action plans people may read, most recent first: those not tied to a round,
    or tied to a published one (nothing from a round whose results are not out yet)."""
    plans = (
        ActionPlan.objects.filter(team_id=team_id)
        .filter(Q(round__isnull=True) | Q(round__status=RoundStatus.PUBLISHED))
        .order_by("-created_at", "-pk")[:10]
    )
    return list(plans)
