"""A pulse ready to answer, shared by the answering and submission tests."""

from dataclasses import dataclass

from surveys.core.tokens import invitation_path
from surveys.models import Answer, Comment, Invitation, Participation, Response, Round, RoundQuestion
from tests.support.factories import RoundFactory, SurveyFactory, invite


@dataclass
class Pulse:
    round: Round
    invitation: Invitation
    token: str
    question_ids: list[int]

    @property
    def url(self) -> str:
        return invitation_path(org_slug=self.round.organization.slug, token=self.token)

    @property
    def thanks_url(self) -> str:
        return self.url + "thanks/"


def open_pulse(tenant, membership=None, **survey_fields) -> Pulse:
    """An open round of a new survey of `tenant` (the twelve core items), with `membership` (the
    employee) invited."""
    round_ = RoundFactory(survey=SurveyFactory(organization=tenant.org, **survey_fields))
    invitation, token = invite(round_, membership or tenant.employee)
    question_ids = list(
        RoundQuestion.all_organizations.filter(round=round_).order_by("position").values_list("question_id", flat=True)
    )
    return Pulse(round_, invitation, token, question_ids)


def form(pulse: Pulse, values: dict[int, object] | list | None = None, comment: str = "") -> dict:
    """POST data: `values` by position (a list, None = skipped) or by question id."""
    if isinstance(values, list):
        values = dict(zip(pulse.question_ids, values, strict=False))
    data = {f"q{qid}": "skip" for qid in pulse.question_ids}
    for qid, value in (values or {}).items():
        data[f"q{qid}"] = "skip" if value is None else str(value)
    data["comment"] = comment
    return data


def stored() -> dict[str, int]:
    """How many rows of each kind exist, in every organisation."""
    return {model.__name__: model.all_organizations.count() for model in (Participation, Response, Answer, Comment)}
