"""HR pages: the surveys, their rounds, and the two round buttons ("Open now", "Close now")."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.http import require_POST

from surveys.access import access_round, access_survey, role_required
from surveys.core.exceptions import PulseError
from surveys.core.ids import whole_number
from surveys.forms.answering import AnswerForm
from surveys.forms.surveys import NEW_QUESTION_FIELDS, SurveyForm
from surveys.models import HR_ROLES, Round, RoundStatus, Survey, pulse_minutes
from surveys.privacy.live import LIVE_MIN_PEOPLE
from surveys.selectors.answering import answering_steps, support_resources, survey_preview_items
from surveys.selectors.surveys import (
    question_groups,
    round_live,
    round_window_if_launched_now,
    round_window_if_opened_now,
    survey_invitees,
    survey_list,
    survey_overview,
    survey_plan,
)
from surveys.services import invitations as invitation_services
from surveys.services import rounds as round_services
from surveys.services import surveys as survey_services
from surveys.services.responses import COMMENT_MAX_LENGTH


@role_required(*HR_ROLES)
def survey_index(request, org_slug: str):
    return render(request, "surveys/survey_list.html", {"surveys": survey_list()})


@role_required(*HR_ROLES)
def survey_create(request, org_slug: str):
    form = SurveyForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and "preview" not in request.POST and form.is_valid():
        try:
            survey = survey_services.survey_create(
                organization=request.organization, created_by=request.membership, fields=form.survey_fields()
            )
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            messages.success(
                request,
                _("“%(survey)s” is saved as a draft. Preview it, send yourself a test, then launch it.")
                % {"survey": survey.name},
            )
            return redirect("survey_detail", org_slug=org_slug, survey_id=survey.pk)
    return _form_page(request, form, survey=None)


@role_required(*HR_ROLES)
def survey_edit(request, org_slug: str, survey_id: int):
    survey = access_survey(membership=request.membership, survey_id=survey_id)
    form = SurveyForm(request.POST or None, organization=request.organization, survey=survey)
    if request.method == "POST" and "preview" not in request.POST and form.is_valid():
        try:
            survey = survey_services.survey_update(survey=survey, fields=form.survey_fields())
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            messages.success(request, _("Saved. The changes apply to rounds that open from now on."))
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
        "messages_preview": _messages_preview(request, form, survey),
    }
    return render(request, "surveys/survey_form.html", context)


def _messages_preview(request, form: SurveyForm, survey) -> dict[str, str]:
    """The invitation and the reminder as they would read with the texts in the form (posted or
    saved), as plain text: the form's preview, drawn by the e-mails' own templates."""
    draft = Survey(organization=request.organization, name=form["name"].value() or "Your survey")
    if survey is not None:
        draft.pk, draft.cadence, draft.open_days, draft.starts_on = (
            survey.pk,
            survey.cadence,
            survey.open_days,
            survey.starts_on,
        )
    draft.invitation_text = str(form["invitation_text"].value() or "")
    draft.reminder_text = str(form["reminder_text"].value() or "")
    previews = invitation_services.survey_messages_preview(
        survey=draft, user=request.user, link="[your personal link]", saved=survey
    )
    return {kind: str(message.body) for kind, message in previews.items()}


@role_required(*HR_ROLES)
@require_POST
def survey_messages_preview(request, org_slug: str):
    """The form's live preview: the e-mails' text for the texts being typed (JSON)."""
    survey = None
    if survey_id := whole_number(request.POST.get("survey", "")):
        survey = access_survey(membership=request.membership, survey_id=survey_id)
    form = SurveyForm(request.POST, organization=request.organization, survey=survey)
    return JsonResponse(_messages_preview(request, form, survey))


@role_required(*HR_ROLES)
def survey_preview(request, org_slug: str, survey_id: int):
    """The answering page exactly as an employee sees it, for HR, before anything is sent."""
    survey = access_survey(membership=request.membership, survey_id=survey_id)
    form = AnswerForm(None)
    items = form.shown_items(survey_preview_items(survey=survey))
    next_round = Round.objects.filter(survey=survey, status=RoundStatus.SCHEDULED).order_by("opens_at").first()
    shown_round = next_round or Round(
        organization=request.organization,
        survey=survey,
        closes_at=round_window_if_launched_now(survey=survey).closes_at,
    )
    context = {
        "organization": request.organization,
        "survey": survey,
        "round": shown_round,
        "preview": True,
        "preview_round": next_round,
        "items": items,
        "steps": answering_steps(items),
        "minutes": pulse_minutes(len(items)),
        "comment": "",
        "comment_max": COMMENT_MAX_LENGTH,
        "comment_limit": number_format(COMMENT_MAX_LENGTH, force_grouping=True),
        "k": shown_round.shown_k,
        "k_comments": shown_round.shown_k_comments,
        "support": support_resources(organization=request.organization, survey=survey),
    }
    return render(request, "surveys/answer.html", context)


@role_required(*HR_ROLES)
def survey_test_send(request, org_slug: str, survey_id: int):
    survey = access_survey(membership=request.membership, survey_id=survey_id)  # another's: 404, any method
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    link = request.build_absolute_uri(reverse("survey_preview", args=[org_slug, survey.pk]))
    invitation_services.survey_test_send(survey=survey, membership=request.membership, link=link)
    messages.success(
        request,
        _(
            "A test invitation and a test reminder are on their way to %(email)s. "
            "Their link opens this survey's preview, not a real pulse."
        )
        % {"email": request.user.email},
    )
    return redirect("survey_detail", org_slug=org_slug, survey_id=survey.pk)


@role_required(*HR_ROLES)
def survey_launch(request, org_slug: str, survey_id: int):
    survey = access_survey(membership=request.membership, survey_id=survey_id)
    if not survey.is_draft:
        messages.info(request, _("“%(survey)s” is already launched.") % {"survey": survey.name})
        return redirect("survey_detail", org_slug=org_slug, survey_id=survey.pk)
    if request.method == "POST":
        first = survey_services.survey_launch(survey=survey)
        launched = _("“%(survey)s” is launched.") % {"survey": survey.name}
        if first:
            opens = date_format(timezone.localtime(first.opens_at), pgettext("date format", "l j F \\a\\t H:i"))
            launched += " " + _("Round 1 opens %(opens)s.") % {"opens": opens}
        messages.success(request, launched)
        return redirect("survey_detail", org_slug=org_slug, survey_id=survey.pk)
    context = {
        "survey": survey,
        "window": round_window_if_launched_now(survey=survey),
        "now": timezone.now(),
        "people": survey_invitees(survey=survey).count(),
        "plan": survey_plan(survey=survey, organization=request.organization),
    }
    return render(request, "surveys/survey_launch_confirm.html", context)


@role_required(*HR_ROLES)
def survey_pause(request, org_slug: str, survey_id: int):
    survey = access_survey(membership=request.membership, survey_id=survey_id)  # another's: 404, any method
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if request.POST.get("resume"):
        survey_services.survey_resume(survey=survey)
        messages.success(
            request, _("“%(survey)s” is running again: its next round is planned below.") % {"survey": survey.name}
        )
    else:
        survey_services.survey_pause(survey=survey)
        messages.success(
            request,
            _("“%(survey)s” is paused: no new round opens until you resume it. An open round runs to its close.")
            % {"survey": survey.name},
        )
    return redirect("survey_detail", org_slug=org_slug, survey_id=survey.pk)


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
        messages.info(request, _("Round %(number)s is not waiting to open any more.") % {"number": round_.number})
        return redirect("survey_detail", org_slug=org_slug, survey_id=survey.pk)
    if request.method == "POST":
        try:
            round_ = round_services.round_open(round_=round_)
        except PulseError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                ngettext(
                    "Round %(number)s is open. Invitations are on their way to %(count)s person.",
                    "Round %(number)s is open. Invitations are on their way to %(count)s people.",
                    round_.invited_count,
                )
                % {"number": round_.number, "count": round_.invited_count},
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
        messages.info(request, _("Round %(number)s is not open.") % {"number": round_.number})
        return redirect("survey_detail", org_slug=org_slug, survey_id=survey.pk)
    if request.method == "POST":
        round_ = round_services.round_close(round_=round_)
        round_.refresh_from_db(fields=["status", "teams_published"])  # aggregation may have run (eager Celery)
        messages.success(
            request, _("Round %(number)s is closed.") % {"number": round_.number} + " " + _after_close(round_)
        )
        return redirect("survey_detail", org_slug=org_slug, survey_id=survey.pk)
    context = {"survey": survey, "round": round_, "live": round_live(round_=round_)}
    return render(request, "surveys/round_close_confirm.html", context)


def _after_close(round_) -> str:
    if round_.status != RoundStatus.PUBLISHED:
        return _("Its results are being prepared.")
    if not round_.teams_published:
        return _("It has nothing to show: fewer than %(k)s people answered in every group.") % {"k": round_.shown_k}
    teams = round_.teams_published
    return ngettext(
        "Its results are ready: %(count)s team with figures.",
        "Its results are ready: %(count)s teams with figures.",
        teams,
    ) % {"count": teams}
