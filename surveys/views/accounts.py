"""Signing in, passwords, and opening an account from the e-mailed set-up link.

A set-up or password link is opened once (`services.accounts.account_link_open` spends it) and
exchanged for a short stay in the browser's session; the page that sets the password has no
token in its address, so nothing a log, a proxy or the browser's history keeps opens anything."""

import time

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.views import View
from django.views.generic import FormView

from surveys.core.tenancy import person_scope_switch
from surveys.forms.accounts import AccountPasswordResetForm, SignInForm
from surveys.models import User
from surveys.services.accounts import RESET_TOKENS, account_link_open
from surveys.services.identity import sso_organization_find
from surveys.signin import account_forgive
from surveys.sso import allow_form_to_provider

#: Where the session keeps an opened link: the account, the kind of link, until when.
LINK_SESSION_KEY = "pulse_account_link"


class _PlainLabels:
    """Labels without Django's trailing colon, like every other form of Pulse."""

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "label_suffix": ""}  # type: ignore[misc]


class LoginView(_PlainLabels, auth_views.LoginView):
    form_class = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        """The organisation's sign-in button beside the form: the one that refused this password,
        or the one whose page the visitor was sent here from (`next` under /o/<slug>/)."""
        context = super().get_context_data(**kwargs)
        form = context.get("form")
        organization = getattr(form, "sso_organization", None)
        slug = organization.slug if organization is not None else _organization_slug(context.get("next") or "")
        found = sso_organization_find(name_or_email=slug) if slug else None
        if found is not None:
            context["sso_organization"], context["sso_provider"] = found
        return context

    def render_to_response(self, context, **kwargs):
        return allow_form_to_provider(super().render_to_response(context, **kwargs), context.get("sso_provider"))

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if getattr(self.request, "signin_refusal", None) is not None:
            response.status_code = 429
        return response


def _organization_slug(next_path: str) -> str:
    parts = next_path.split("/")
    return parts[2] if len(parts) > 3 and parts[0] == "" and parts[1] == "o" else ""


class PasswordResetView(_PlainLabels, auth_views.PasswordResetView):
    form_class = AccountPasswordResetForm
    token_generator = RESET_TOKENS
    email_template_name = "registration/password_reset_email.txt"
    html_email_template_name = "registration/password_reset_email.html"


class AccountLinkOpenView(View):
    """The e-mailed link itself: spend it, keep the account in the session for
    PULSE_ACCOUNT_LINK_MINUTES, and send the browser on to the password form's own address."""

    kind = "reset"
    template_name = "registration/password_reset_confirm.html"
    form_route = "password_reset_form"

    def get(self, request, uidb64: str, token: str):
        user = account_link_open(uidb64=uidb64, token=token, kind=self.kind)
        if user is None:
            return render(request, self.template_name, {"validlink": False})
        request.session[LINK_SESSION_KEY] = {
            "user": user.pk,
            "kind": self.kind,
            "until": time.time() + settings.PULSE_ACCOUNT_LINK_MINUTES * 60,
        }
        return HttpResponseRedirect(reverse(self.form_route))


class AccountSetupOpenView(AccountLinkOpenView):
    kind = "setup"
    template_name = "registration/account_activate.html"
    form_route = "account_activate_form"


class AccountPasswordView(_PlainLabels, FormView):
    """Choose the password for the account an opened link left in the session. Setting it ends
    the stay, and forgives every address's wrong passwords on the account (the owner has proved
    themselves: surveys/signin.py)."""

    kind = "reset"
    form_class = SetPasswordForm
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")
    sign_in = False

    def dispatch(self, request, *args, **kwargs):
        self.user = self._opened_user()
        if self.user is None:
            return render(request, self.template_name, {"validlink": False})
        return super().dispatch(request, *args, **kwargs)

    def _opened_user(self) -> User | None:
        held = self.request.session.get(LINK_SESSION_KEY)
        if not isinstance(held, dict) or held.get("kind") != self.kind or held.get("until", 0) < time.time():
            return None
        person_scope_switch(int(held["user"]))  # the account the opened link named
        return User._default_manager.filter(pk=int(held["user"]), is_active=True).first()

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.user}

    def get_context_data(self, **kwargs):
        return super().get_context_data(validlink=True, **kwargs)

    def form_valid(self, form):
        user = form.save()
        self.request.session.pop(LINK_SESSION_KEY, None)
        account_forgive(user.get_username())
        if self.sign_in:
            login(self.request, user, backend="surveys.signin.SignInBackend")
        return super().form_valid(form)


class AccountActivateView(AccountPasswordView):
    """The set-up link of the account invitation: choose a password, and you are signed in."""

    kind = "setup"
    template_name = "registration/account_activate.html"
    success_url = reverse_lazy("landing")
    sign_in = True
