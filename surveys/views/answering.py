"""The answering flow: the invitation link (no sign-in) and the signed-in route to the same page.

Both end in the same private helpers; they differ only in how the invitation is found.
"""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from surveys.access import access_invitation, access_round_invitation, role_required
from surveys.core.exceptions import PulseError
from surveys.core.tenancy import organization_scope
from surveys.forms.answering import AnswerForm
from surveys.models import ALL_ROLES, Invitation, pulse_minutes
from surveys.selectors.answering import (
    AnswerState,
    answering_items,
    answering_steps,
    invitation_state,
    invitation_with_round,
    support_resources,
    what_changed,
)
from surveys.services.responses import COMMENT_MAX_LENGTH, response_submit

#: Errors of `response_submit` that are a state of the pulse, not a mistake in the form.
STATE_ERRORS = {
    "already_answered": AnswerState.ANSWERED,
    "round_closed": AnswerState.CLOSED,
    "round_not_open": AnswerState.NOT_OPEN_YET,
}


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def answer(request, organization_slug: str, token: str) -> HttpResponse:
    try:
        invitation = access_invitation(org_slug=organization_slug, token=token)
    except PulseError as error:
        return render(request, "surveys/answer_link_invalid.html", {"error": error}, status=error.status)
    with organization_scope(invitation.organization):
        thanks_url = reverse("answer_thanks", kwargs={"organization_slug": organization_slug, "token": token})
        return _answering(request, invitation, thanks_url=thanks_url)


@never_cache
@require_http_methods(["GET", "HEAD"])
def answer_thanks(request, organization_slug: str, token: str) -> HttpResponse:
    try:
        invitation = access_invitation(org_slug=organization_slug, token=token)
    except PulseError as error:
        return render(request, "surveys/answer_link_invalid.html", {"error": error}, status=error.status)
    with organization_scope(invitation.organization):
        answer_url = reverse("answer", kwargs={"organization_slug": organization_slug, "token": token})
        return _thanks(request, invitation, answer_url=answer_url)


@role_required(*ALL_ROLES)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def pulse_answer(request, org_slug: str, round_id: int) -> HttpResponse:
    invitation = access_round_invitation(membership=request.membership, round_id=round_id)
    return _answering(request, invitation, thanks_url=reverse("pulse_thanks", args=[org_slug, round_id]))


@role_required(*ALL_ROLES)
@never_cache
@require_http_methods(["GET", "HEAD"])
def pulse_thanks(request, org_slug: str, round_id: int) -> HttpResponse:
    invitation = access_round_invitation(membership=request.membership, round_id=round_id)
    return _thanks(request, invitation, answer_url=reverse("pulse_answer", args=[org_slug, round_id]))


def _answering(request, invitation: Invitation, *, thanks_url: str) -> HttpResponse:
    form = AnswerForm(request.POST if request.method == "POST" else None)
    error = None
    if request.method == "POST":
        # The submission needs nothing but the invitation: the service reads the round's state
        # under its lock. The round is loaded only when a page has to be shown.
        try:
            response_submit(invitation=invitation, answers=form.answers(), comment=form.comment())
        except PulseError as raised:
            invitation_with_round(invitation=invitation)
            if raised.code in STATE_ERRORS:
                return _state_page(request, invitation, STATE_ERRORS[raised.code], status=raised.status)
            error = raised
        else:
            return redirect(thanks_url)
    else:
        invitation_with_round(invitation=invitation)
        state = invitation_state(invitation=invitation)
        if state != AnswerState.OPEN:
            return _state_page(request, invitation, state)
    items = form.shown_items(answering_items(round_id=invitation.round_id))
    context = {
        **_common(invitation),
        "items": items,
        "steps": answering_steps(items),
        "minutes": pulse_minutes(len(items)),
        "comment": form.comment(),
        "comment_max": COMMENT_MAX_LENGTH,
        "comment_limit": f"{COMMENT_MAX_LENGTH:,}",
        "error": error,
    }
    return render(request, "surveys/answer.html", context, status=error.status if error else 200)


def _thanks(request, invitation: Invitation, *, answer_url: str) -> HttpResponse:
    invitation_with_round(invitation=invitation)
    if invitation_state(invitation=invitation) != AnswerState.ANSWERED:
        return redirect(answer_url)
    return render(request, "surveys/answer_thanks.html", {**_common(invitation), **what_changed(invitation=invitation)})


def _state_page(request, invitation: Invitation, state: AnswerState, *, status: int = 200) -> HttpResponse:
    context = {**_common(invitation), "state": state, "opens_later": invitation.round.opens_at > timezone.now()}
    if state == AnswerState.ANSWERED:
        return render(
            request,
            "surveys/answer_thanks.html",
            {**context, "already": True, **what_changed(invitation=invitation)},
            status=status,
        )
    return render(request, "surveys/answer_state.html", context, status=status)


def _common(invitation: Invitation) -> dict:
    round_, organization = invitation.round, invitation.organization
    return {
        "organization": organization,
        "round": round_,
        "survey": round_.survey,
        "k": round_.shown_k,
        "k_comments": round_.shown_k_comments,
        "support": support_resources(organization=organization, survey=round_.survey),
    }
