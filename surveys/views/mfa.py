"""Two-step sign-in: the code asked after signing in, setting up an authenticator app, recovery
codes, and an organisation asking it of its HR and admins."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from surveys.access import role_required
from surveys.core.exceptions import PulseError
from surveys.forms.identity import MfaCodeForm
from surveys.models import HR_ROLES
from surveys.services.mfa import (
    MFA_PENDING_KEY,
    mfa_enrolment_begin,
    mfa_enrolment_confirm,
    mfa_enrolment_pending,
    mfa_has_factor,
    mfa_recovery_codes_renew,
    mfa_remove,
    mfa_required_by,
    mfa_verify,
    organization_mfa_require,
)


def second_factor_due_mark(sender, request, user, **kwargs) -> None:
    """user_logged_in: a person with a second factor must give a code before any page."""
    if request is not None and hasattr(request, "session") and mfa_has_factor(user=user):
        request.session[MFA_PENDING_KEY] = True


def _next(request, default: str = "landing"):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


@login_required
def mfa_challenge(request):
    if request.user.is_verified() or not mfa_has_factor(user=request.user):
        return _next(request)
    form = MfaCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device = mfa_verify(user=request.user, code=form.cleaned_data["code"])
        except PulseError as error:
            form.add_pulse_error(error)
            status = error.status
        else:
            otp_login(request, device)
            request.session.pop(MFA_PENDING_KEY, None)
            return _next(request)
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    return render(request, "registration/mfa_challenge.html", context, status=status)


@login_required
def mfa_setup(request):
    """Set up an authenticator app (scan, then confirm a code), or, with one in force, renew the
    recovery codes or turn it off."""
    user = request.user
    has_factor = mfa_has_factor(user=user)
    if has_factor and not user.is_verified():
        return redirect(f"{reverse('mfa_challenge')}?next={request.path}")
    action = request.POST.get("action", "")
    form = MfaCodeForm(request.POST if action == "confirm" else None)
    if action == "confirm" and form.is_valid():
        try:
            device, codes = mfa_enrolment_confirm(user=user, code=form.cleaned_data["code"])
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            otp_login(request, device)
            request.session.pop(MFA_PENDING_KEY, None)
            return _codes_page(request, codes, first=True)
    elif action == "renew" and has_factor:
        return _codes_page(request, mfa_recovery_codes_renew(user=user), first=False)
    elif action == "remove" and has_factor:
        try:
            mfa_remove(user=user)
        except PulseError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Two-step sign-in is off. Signing in asks for your password only."))
        return redirect("mfa_setup")
    enrolment = None
    if not has_factor:
        enrolment = mfa_enrolment_pending(user=user) or mfa_enrolment_begin(user=user)
    context = {
        "form": form,
        "has_factor": has_factor,
        "enrolment": enrolment,
        "required_by": mfa_required_by(user=user),
        "next": request.GET.get("next", ""),
    }
    return render(request, "registration/mfa_setup.html", context)


def _codes_page(request, codes: list[str], *, first: bool):
    context = {"codes": codes, "first": first, "next": request.POST.get("next", "")}
    return render(request, "registration/mfa_recovery_codes.html", context)


@role_required(*HR_ROLES)
@require_POST
def organization_mfa(request, org_slug: str):
    required = request.POST.get("mfa_required") == "on"
    try:
        organization_mfa_require(organization=request.organization, required=required, actor=request.user)
    except PulseError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("HR and admins must now confirm each sign-in with a second factor.")
            if required
            else _("A second factor is now each person's own choice."),
        )
    return redirect("identity_settings", org_slug=org_slug)
