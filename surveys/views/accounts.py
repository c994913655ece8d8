"""Signing in, passwords, and opening an account from the e-mailed set-up link."""

from axes.utils import reset as axes_reset
from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from surveys.forms.accounts import AccountPasswordResetForm


class _PlainLabels:
    """Labels without Django's trailing colon, like every other form of Pulse."""

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "label_suffix": ""}  # type: ignore[misc]


class LoginView(_PlainLabels, auth_views.LoginView):
    redirect_authenticated_user = True


class PasswordResetView(_PlainLabels, auth_views.PasswordResetView):
    form_class = AccountPasswordResetForm
    email_template_name = "registration/password_reset_email.txt"
    html_email_template_name = "registration/password_reset_email.html"


class _UnlocksSignIn:
    """Setting a password through an e-mailed link proves the account's owner: their sign-in
    lockout (django-axes) ends at once, for the account (not for the address)."""

    def form_valid(self, form):
        response = super().form_valid(form)  # type: ignore[misc]
        axes_reset(username=form.user.get_username())
        return response


class PasswordResetConfirmView(_UnlocksSignIn, _PlainLabels, auth_views.PasswordResetConfirmView):
    pass


class AccountActivateView(_UnlocksSignIn, _PlainLabels, auth_views.PasswordResetConfirmView):
    """The set-up link of the account invitation: choose a password, and you are signed in.
    The token is Django's password-reset token, so the link works once and expires."""

    template_name = "registration/account_activate.html"
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("landing")
