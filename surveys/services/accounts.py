"""Accounts for the people a roster brings in: an e-mailed link to set a password.

People imported from a roster have no password. Managers, HR and admins need one to see their
pages, so whatever creates or promotes one (an import, the People page) e-mails them a link to
set it up, and HR can send it again. The link carries Django's password-reset token: it works
once (it is bound to the password it replaces) and expires after PASSWORD_RESET_TIMEOUT (three
days). Employees need no account to answer; they may set one up from the sign-in page to see
their home page (`forms.accounts.AccountPasswordResetForm` accepts people without a password).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from surveys.core.bulk import chunks
from surveys.core.enqueue import enqueue
from surveys.core.names import one_line
from surveys.models import MANAGER_ROLES, Membership, User


def account_setup_link(user: User) -> str:
    """A one-time link for `user` to set their password (the account activation page)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.PULSE_BASE_URL + reverse("account_activate", kwargs={"uidb64": uid, "token": token})


def needs_account(membership: Membership) -> bool:
    """Someone whose role has pages of its own and who has never set a password."""
    return membership.role in MANAGER_ROLES and not membership.user.has_usable_password()


#: `needs_account` as a query (a password Django marks unusable starts with its prefix).
NEEDS_ACCOUNT = Q(role__in=MANAGER_ROLES, user__password__startswith=UNUSABLE_PASSWORD_PREFIX)


def account_invitations_queue(memberships: Iterable[Membership]) -> None:
    """After the current transaction commits, e-mail a set-up link to those who need one."""
    _queue([membership.pk for membership in memberships if needs_account(membership)])


def account_invitations_queue_ids(membership_ids: Sequence[int]) -> None:
    """The same for many memberships by id (an import's), asked of the database."""
    found: list[int] = []
    for chunk in chunks(membership_ids):
        found += Membership.objects.filter(NEEDS_ACCOUNT, pk__any_of=chunk).values_list("pk", flat=True)
    _queue(sorted(found))


def _queue(ids: list[int]) -> None:
    if ids:
        enqueue("surveys.tasks.account_invitations_send", ids)


def account_invitations_send(*, membership_ids: Iterable[int]) -> int:
    """E-mail each still-active membership without a password its set-up link, on one mail
    connection, and note when. Returns how many were sent."""
    memberships = (
        Membership.objects.filter(pk__in=list(membership_ids), is_active=True, user__is_active=True)
        .select_related("user", "organization", "team")
        .order_by("pk")
    )
    sent = []
    with get_connection() as connection:
        for membership in memberships:
            if membership.user.has_usable_password():
                continue
            _invitation(membership, connection).send()
            sent.append(membership.pk)
    Membership.objects.filter(pk__in=sent).update(account_invited_at=timezone.now())
    return len(sent)


def _invitation(membership: Membership, connection) -> EmailMultiAlternatives:
    organization = membership.organization
    context = {
        "name": membership.user.get_short_name(),
        "organization": organization,
        "role": membership.get_role_display(),
        "link": account_setup_link(membership.user),
        "email": membership.user.email,
        "days": round(settings.PASSWORD_RESET_TIMEOUT / 86400),
        "sign_in": settings.PULSE_BASE_URL + reverse("login"),
    }
    message = EmailMultiAlternatives(
        subject=one_line(f"{organization.name}: set up your Pulse account"),
        body=render_to_string("emails/account_invitation.txt", context),
        to=[membership.user.email],
        connection=connection,
    )
    message.attach_alternative(render_to_string("emails/account_invitation.html", context), "text/html")
    return message
