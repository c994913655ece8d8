"""Accounts for the people a roster brings in: an e-mailed link to set a password.

People imported from a roster have no password. Managers, HR and admins need one to see their
pages, so whatever creates or promotes one (an import, the People page) e-mails them a link to
set it up, and HR can send it again. Employees need no account to answer; they may set one up
from the sign-in page to see their home page (`forms.accounts.AccountPasswordResetForm` accepts
people without a password).

A set-up or password link is a key to an account, so it is short-lived and single-use: its token
(Django's password-reset token, bound to the password it replaces) expires after
PULSE_SETUP_LINK_HOURS (set-up) or PULSE_RESET_LINK_MINUTES (password), and the first visit
spends it (`account_link_open`), exchanging it for a few minutes in that browser's session, so
the address that carried it (in a request log, a proxy's, a browser's history) opens nothing
afterwards (docs/privacy.md, "Side channels").
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Sequence

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.cache import cache
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes, force_str
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from delivery.channels import Letter
from delivery.models import Delivery, Message, MessageKind
from delivery.services.messages import message_deliver, message_prepare
from surveys.core.bulk import chunks
from surveys.core.enqueue import enqueue
from surveys.core.names import one_line
from surveys.core.tenancy import current_organization, person_scope_switch
from surveys.models import MANAGER_ROLES, Membership, User


class AccountLinkTokens(PasswordResetTokenGenerator):
    """Django's password-reset token (an HMAC of the account's id, its password hash, its last
    sign-in and the time it was made) with a salt of its own per kind of link, so a password
    link cannot stand in for a set-up link, and a lifetime of its own."""

    def __init__(self, kind: str, lifetime: Callable[[], int]) -> None:
        super().__init__()
        self.key_salt = f"pulse.account-link.{kind}"
        self.lifetime = lifetime

    def check_token(self, user, token) -> bool:
        if not (user and token):
            return False
        try:
            made = base36_to_int(token.split("-")[0])
        except ValueError:
            return False
        secrets = [self.secret, *self.secret_fallbacks]
        if not any(constant_time_compare(self._make_token_with_timestamp(user, made, s), token) for s in secrets):
            return False
        return 0 <= self._num_seconds(self._now()) - made <= self.lifetime()


#: The two kinds of link: the set-up link of an account invitation, and the password link.
SETUP_TOKENS = AccountLinkTokens("setup", lambda: settings.PULSE_SETUP_LINK_HOURS * 3600)
RESET_TOKENS = AccountLinkTokens("reset", lambda: settings.PULSE_RESET_LINK_MINUTES * 60)
LINK_TOKENS = {"setup": SETUP_TOKENS, "reset": RESET_TOKENS}


def lifetime_words(tokens: AccountLinkTokens) -> str:
    """How long a link lasts, as the e-mail says it: "3 days", "1 hour", "30 minutes"."""
    seconds = tokens.lifetime()
    units = (
        (86400, lambda n: ngettext("%(count)d day", "%(count)d days", n)),
        (3600, lambda n: ngettext("%(count)d hour", "%(count)d hours", n)),
        (60, lambda n: ngettext("%(count)d minute", "%(count)d minutes", n)),
    )
    for size, words in units:
        if seconds >= size and seconds % size == 0:
            return words(seconds // size) % {"count": seconds // size}
    return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}


def account_setup_link(user: User) -> str:
    """A one-time link for `user` to set their password (the account activation page)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = SETUP_TOKENS.make_token(user)
    return settings.PULSE_BASE_URL + reverse("account_activate", kwargs={"uidb64": uid, "token": token})


def account_link_open(*, uidb64: str, token: str, kind: str) -> User | None:
    """The account a set-up (`kind` "setup") or password ("reset") link opens, spending the link;
    None for a link that is malformed, for another account, expired or already opened.

    Spent twice over: the link's token is remembered as spent for its lifetime (in the cache,
    shared by every web process when CACHE_URL is set, `add` being atomic, so of two visits at
    once only one opens it); and a set-up link, made for an account without a password, also
    stops matching at once in the database, because opening it replaces the unusable password
    its token is bound to."""
    tokens = LINK_TOKENS[kind]
    try:
        user_id = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    if not 0 < user_id < 2**63:
        return None
    person_scope_switch(user_id)  # the account the link names, whose token is checked next
    user = User._default_manager.filter(pk=user_id).first()
    if user is None or not user.is_active or not tokens.check_token(user, token):
        return None
    spent = f"pulse:account-link-spent:{hashlib.sha256(token.encode()).hexdigest()}"
    if not cache.add(spent, True, timeout=tokens.lifetime()):
        return None
    if kind == "setup" and not user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


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
        message = account_invitations_prepare(membership_ids=ids)
        enqueue("surveys.tasks.account_invitations_send", message.pk)


def account_invitations_prepare(*, membership_ids: Iterable[int]) -> Message:
    """A set-up message for these memberships (each asking is a message of its own: HR's "send
    again" is a new one), with a pending delivery for each still active."""
    memberships = Membership.objects.filter(pk__in=list(membership_ids), is_active=True, user__is_active=True)
    return message_prepare(
        organization=current_organization(),
        kind=MessageKind.ACCOUNT_SETUP,
        key=f"accounts:{uuid.uuid4().hex}",
        memberships=list(memberships.values_list("pk", flat=True)),
    )


def account_invitations_send(*, message_id: int) -> int:
    """Send the set-up message's link to each of its people still without a password, and note
    when. A retry sends only those still owed. Returns how many were sent."""
    message = Message.objects.get(pk=message_id, kind=MessageKind.ACCOUNT_SETUP)
    return message_deliver(message=message, composer=AccountSetupComposer())


class AccountSetupComposer:
    """The set-up link's letter, for whoever still has no password when it is composed."""

    def still_wanted(self) -> bool:
        return True

    def compose(self, deliveries: list[Delivery]) -> dict[int, Letter | None]:
        members = Membership.objects.filter(pk__in=[d.membership_id for d in deliveries]).select_related(
            "user", "organization", "team"
        )
        by_pk = {membership.pk: membership for membership in members}
        letters: dict[int, Letter | None] = {}
        for delivery in deliveries:
            membership = by_pk.get(delivery.membership_id)
            needed = membership is not None and not membership.user.has_usable_password()
            letters[delivery.pk] = _invitation(membership) if needed and membership else None
        return letters

    def delivered(self, deliveries: list[Delivery], *, at) -> None:
        Membership.objects.filter(pk__in=[d.membership_id for d in deliveries]).update(account_invited_at=at)


def _invitation(membership: Membership) -> Letter:
    """The set-up message, composed in the person's language."""
    with translation.override(membership.user.message_language):
        return _invitation_composed(membership)


def _invitation_composed(membership: Membership) -> Letter:
    organization = membership.organization
    context = {
        "name": membership.user.get_short_name(),
        "organization": organization,
        "role": membership.get_role_display(),
        "link": account_setup_link(membership.user),
        "email": membership.user.email,
        "lifetime": lifetime_words(SETUP_TOKENS),
        "sign_in": settings.PULSE_BASE_URL + reverse("login"),
    }
    return Letter(
        subject=one_line(_("%(organization)s: set up your Pulse account") % {"organization": organization.name}),
        text=render_to_string("emails/account_invitation.txt", context),
        html=render_to_string("emails/account_invitation.html", context),
        link=context["link"],
        link_label=_("Set up your account"),
    )
