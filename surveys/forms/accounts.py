"""The password form that also opens accounts: people a roster brought in have no password,
and Django's own form would silently send them nothing."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from surveys.core.cross_lookups import people_by_email
from surveys.core.tenancy import across_organizations, person_scope_switch
from surveys.models import Membership, Organization, User
from surveys.services.accounts import RESET_TOKENS, lifetime_words
from surveys.services.identity import sso_required_of


class _SaysWhyPaused:
    """A sign-in the rules did not check (surveys/signin.py) says why and for how long, instead
    of "wrong password"; what was typed stays in the form."""

    def clean(self):
        try:
            return super().clean()  # type: ignore[misc]
        except ValidationError:
            refusal = getattr(self.request, "signin_refusal", None)  # type: ignore[attr-defined]
            if refusal is not None:
                raise ValidationError(refusal.message, code="signin_paused") from None
            raise


class SignInForm(_SaysWhyPaused, AuthenticationForm):
    #: The organisation whose identity provider this person must sign in through, once their
    #: password has been found right (never before: it would tell anyone who is on Pulse).
    sso_organization: Organization | None = None

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        organization = sso_required_of(user=user)
        if organization is not None:
            self.sso_organization = organization
            raise ValidationError(
                gettext(
                    "%(organization)s asks managers, HR and admins to sign in through its identity provider, "
                    "not with a password. Use the button below."
                )
                % {"organization": organization.name},
                code="sso_required",
            )


class AdminSignInForm(_SaysWhyPaused, AdminAuthenticationForm):
    pass


class AccountPasswordResetForm(PasswordResetForm):
    """Sends the link to anyone with an active account: a password already, or an active place
    in an organisation (an imported person setting up their account). Says the same whatever
    the address, so it tells no one who is on Pulse."""

    def get_users(self, email: str) -> Iterator[User]:
        for person_id, address, _ in people_by_email([email]):
            if _folded(email) != _folded(address):
                continue
            person_scope_switch(person_id)  # this account, to e-mail it a link
            user = User._default_manager.filter(pk=person_id, is_active=True).first()
            if user is not None and (user.has_usable_password() or _placed(user)):
                yield user

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ):
        path = reverse("password_reset_confirm", kwargs={"uidb64": context["uid"], "token": context["token"]})
        with translation.override(context["user"].message_language):  # the account's language
            context = {
                **context,
                "link": settings.PULSE_BASE_URL + path,
                "lifetime": lifetime_words(RESET_TOKENS),
            }
            super().send_mail(
                subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name
            )


def _folded(email: str) -> str:
    return unicodedata.normalize("NFKC", email).casefold()


def _placed(user: User) -> bool:
    """Whether the user has an active place in any organisation (spans tenants on purpose)."""
    with across_organizations():
        return Membership.all_organizations.filter(user=user, is_active=True).exists()
