"""Everything Pulse holds about one person in one organisation, for a data-protection request
(docs/operations.md, "A person's data"): their account (and when it last signed in), place in
the roster, roles and teams led, invitations and when they were e-mailed, which rounds they
answered (while those flags are kept), and the roster history and audit log entries that name
them.

What they said is not here and cannot be: Response, Answer and Comment carry no person, link,
participation or time (docs/privacy.md, "Storage"), and sealing cut even the storage order, so
nothing can find one person's answers. `ANSWERS_NOTE` says so wherever this is shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from surveys.core.tenancy import across_organizations
from surveys.models import (
    ActionPlan,
    ApiKey,
    Invitation,
    Membership,
    Participation,
    RosterChange,
    RosterImport,
    RoundStatus,
)
from surveys.selectors.audit import audit_entries_of_person

#: Said wherever a person's data is exported or erased.
ANSWERS_NOTE = gettext_lazy(
    "Answers and comments are not included and cannot be erased one person at a time: Pulse stores "
    "what was said with its round and team only, never with the person, their link, the fact that they "
    "answered or the time, and reorders it when the round closes, so nothing links an answer to anyone. "
    "They are deleted for everyone when the organisation's retention period runs out."
)


def _when(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


#: What Pulse keeps of sign-ins: the last one, on the account. Attempts are counted in the cache
#: under keyed hashes for an hour at most (surveys/signin.py), never stored by address or person.
SIGN_IN_NOTE = gettext_lazy(
    "Pulse records only when the account last signed in. Failed attempts are counted for at most an hour, "
    "under keyed hashes that name neither the address nor the account."
)


def person_mentions(membership: Membership) -> Q:
    """Roster history entries that name the person: by their e-mail address in the summary or
    the details (imports list people by address), or as the one who made the change."""
    email = membership.user.email
    return Q(actor=membership) | Q(summary__icontains=email) | Q(details__icontains=email)


#: Said instead of the sign-in record of an account another organisation shares.
SHARED_ACCOUNT_NOTE = gettext_lazy(
    "This person's account also belongs to another organisation on Pulse, so when it signs in is not this "
    "organisation's to export or erase; Pulse's operator can provide it."
)


def account_is_theirs_alone(membership: Membership) -> bool:
    """Whether the person's account belongs to this organisation only. Spans organisations on
    purpose, for one yes or no: an account shared with another organisation is not this
    organisation's to hand out (its sign-ins) or to delete."""
    with across_organizations():
        others = Membership.all_organizations.filter(user_id=membership.user_id).exclude(pk=membership.pk)
        return not others.exists()


def person_data(*, membership: Membership) -> dict[str, Any]:
    """Everything held about the person, as JSON-ready data."""
    user = membership.user
    alone = account_is_theirs_alone(membership)
    invitations = Invitation.objects.filter(membership=membership).select_related("round__survey", "team")
    answered = Participation.objects.filter(membership=membership).select_related("round__survey")
    return {
        "exported_at": _when(timezone.now()),
        "organization": {"name": membership.organization.name, "slug": membership.organization.slug},
        "person": {
            "email": user.email,
            "name": user.name,
            "account_created_at": _when(user.date_joined),
            "has_set_a_password": user.has_usable_password(),
        },
        "membership": {
            "role": membership.role,
            "team": membership.team.path if membership.team else None,
            "active": membership.is_active,
            "added_at": _when(membership.created_at),
            "account_link_emailed_at": _when(membership.account_invited_at),
        },
        "teams_led": sorted(membership.management.values_list("team__path", flat=True)),
        "invitations": [
            {
                "survey": invitation.round.survey.name,
                "round": invitation.round.number,
                "opens_at": _when(invitation.round.opens_at),
                "closes_at": _when(invitation.round.closes_at),
                "counted_in_team": invitation.team.path,
                "emailed_at": _when(invitation.sent_at),
                "reminded_at": _when(invitation.reminded_at),
            }
            for invitation in invitations.order_by("round__opens_at", "pk")
        ],
        "rounds_answered": [
            {"survey": flag.round.survey.name, "round": flag.round.number}
            for flag in answered.order_by("round__opens_at", "pk")
        ],
        "sign_ins": {"last_signed_in_at": _when(user.last_login), "note": SIGN_IN_NOTE}
        if alone
        else SHARED_ACCOUNT_NOTE,
        "roster_history": [
            {"at": _when(change.created_at), "kind": change.kind, "summary": change.summary}
            for change in RosterChange.objects.filter(person_mentions(membership)).order_by("created_at", "pk")
        ],
        "audit_log": audit_entries_of_person(membership=membership),
        "action_plans_owned": list(ActionPlan.objects.filter(owner=membership).values_list("title", flat=True)),
        "api_keys_created": [
            {"name": key.name, "prefix": key.prefix, "created_at": _when(key.created), "revoked": key.revoked}
            for key in ApiKey.objects.filter(created_by=membership).order_by("created")
        ],
        "roster_files_uploaded": list(
            RosterImport.objects.filter(Q(uploaded_by=membership) | Q(confirmed_by=membership)).values_list(
                "filename", flat=True
            )
        ),
        "answers_and_comments": ANSWERS_NOTE,
    }


@dataclass(frozen=True)
class ErasurePreview:
    """What erasing a person would remove or change, counted, for the confirmation page."""

    invitations: int
    rounds_answered: int
    teams_led: int
    roster_history: int
    audit_entries: int
    account_deleted: bool  # the person belongs to no other organisation
    open_invitations: int  # of rounds still open: their link stops working


def erasure_preview(*, membership: Membership) -> ErasurePreview:
    invitations = Invitation.objects.filter(membership=membership)
    account_deleted = account_is_theirs_alone(membership)
    return ErasurePreview(
        invitations=invitations.count(),
        rounds_answered=Participation.objects.filter(membership=membership).count(),
        teams_led=membership.management.count(),
        roster_history=RosterChange.objects.filter(person_mentions(membership)).count(),
        audit_entries=len(audit_entries_of_person(membership=membership)),
        account_deleted=account_deleted,
        open_invitations=invitations.filter(round__status=RoundStatus.OPEN).count(),
    )
