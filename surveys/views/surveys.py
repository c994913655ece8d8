"""HR pages: the surveys, their rounds, and the two round buttons ("Open now", "Close now")."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render

from surveys.access import access_round, access_survey, role_required
from surveys.core.exceptions import PulseError
from surveys.forms.surveys import NEW_QUESTION_FIELDS, SurveyForm
from surveys.models import HR_ROLES, RoundStatus
from surveys.privacy.live import LIVE_MIN_PEOPLE
from surveys.selectors.surveys import (
    question_groups,
    round_live,
    round_window_if_opened_now,
    survey_invitees,
    survey_list,
    survey_overview,
    survey_plan,
)
from surveys.services import rounds as round_services
from surveys.services import surveys as survey_services


@role_required(*HR_ROLES)
def survey_index(request, org_slug: str):
    return render(request, "surveys/survey_list.html", {"surveys": survey_list()})


@role_required(*HR_ROLES)
def survey_create(request, org_slug: str):
    form = SurveyForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            survey = survey_services.survey_create(
                organization=request.organization, created_by=request.membership, fields=form.survey_fields()
            )
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            messages.success(request, f"“{survey.name}” is ready. Its first round is scheduled below.")
            return redirect("survey_detail", org_slug=org_slug, survey_id=survey.pk)
    return _form_page(request, form, survey=None)


@role_required(*HR_ROLES)
def survey_edit(request, org_slug: str, survey_id: int):
    survey = access_survey(membership=request.membership, survey_id=survey_id)
    form = SurveyForm(request.POST or None, organization=request.organization, survey=survey)
    if request.method == "POST" and form.is_valid():
        try:
            survey = survey_services.survey_update(survey=survey, fields=form.survey_fields())
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            messages.success(request, "Saved. The changes apply to rounds that open from now on.")
            return redirect("survey_detail", org_slug=org_slug, survey_id=survey.pk)
    return _form_page(request, form, survey=survey)


def _form_page(request, form: SurveyForm, *, survey):
    context = {
        "form": form,
        "survey": survey,
        "groups": question_groups(),
        "selected": form.selected_question_ids(),
        "new_question_fields": [form[name] for name in NEW_QUESTION_FIELDS],
        "open_hour": settings.PULSE_ROUND_OPEN_HOUR,
    }
    return render(request, "surveys/survey_form.html", context)


@role_required(*HR_ROLES)
def survey_detail(request, org_slug: str, survey_id: int):
    survey = access_survey(membership=request.membership, survey_id=survey_id)
    overview = survey_overview(survey=survey)
    context = {
        "overview": overview,
        "plan": survey_plan(survey=survey, organization=request.organization),
        "live": round_live(round_=overview.open_round) if overview.open_round else None,
        "live_min_people": LIVE_MIN_PEOPLE,
    }
    return render(request, "surveys/survey_detail.html", context)


@role_required(*HR_ROLES)
def round_open_now(request, org_slug: str, survey_id: int, round_id: int):
    survey = access_survey(membership=request.membership, survey_id=survey_id)
    round_ = access_round(survey=survey, round_id=round_id)
    if round_.status != RoundStatus.SCHEDULED:
        messages.info(request, f"Round {round_.number} is not waiting to open any more.")
        return redirect("survey_detail", org_slug=org_slug, survey_id=survey.pk)
    if request.method == "POST":
        try:
            round_ = round_services.round_open(round_=round_)
        except PulseError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                f"Round {round_.number} is open. Invitations are on their way to {round_.invited_count} people.",
            )
        return redirect("survey_detail", org_slug=org_slug, survey_id=survey.pk)
    context = {
        "survey": survey,
        "round": round_,
        "people": survey_invitees(survey=survey).count(),
        "window": round_window_if_opened_now(round_=round_),
        "plan": survey_plan(survey=survey, organization=request.organization),
    }
    return render(request, "surveys/round_open_confirm.html", context)


@role_required(*HR_ROLES)
def round_close_now(request, org_slug: str, survey_id: int, round_id: int):
    survey = access_survey(membership=request.membership, survey_id=survey_id)
    round_ = access_round(survey=survey, round_id=round_id)
    if round_.status != RoundStatus.OPEN:
        messages.info(request, f"Round {round_.number} is not open.")
        return redirect("survey_detail", org_slug=org_slug, survey_id=survey.pk)
    if request.method == "POST":
        round_ = round_services.round_close(round_=round_)
        round_.refresh_from_db(fields=["status", "teams_published"])  # aggregation may have run (eager Celery)
        messages.success(request, f"Round {round_.number} is closed. {_after_close(round_)}")
        return redirect("survey_detail", org_slug=org_slug, survey_id=survey.pk)
    context = {"survey": survey, "round": round_, "live": round_live(round_=round_)}
    return render(request, "surveys/round_close_confirm.html", context)


def _after_close(round_) -> str:
    if round_.status != RoundStatus.PUBLISHED:
        return "Its results are being prepared."
    if not round_.teams_published:
        return f"It has nothing to show: fewer than {round_.shown_k} people answered in every group."
    teams = round_.teams_published
    return f"Its results are ready: {teams} team{'s' if teams != 1 else ''} with figures."
