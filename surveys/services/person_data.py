"""Erasing a person, on request (docs/operations.md, "A person's data"). What is held about them
is listed by `selectors.person_data.person_data`; this removes it, in one of two ways:

- **erase**: their place in the organisation goes with everything hanging on it (invitations
  and their delivery times, participation flags, teams led); their account goes too (with when
  it last signed in) when no other organisation shares it.
- **anonymise**: their place stays, as an inactive "former member" with no name or address,
  so that counts, action plans and the roster history stay whole; their links stop working.
  Their account goes as above.

Either way the roster history and the audit log keep their entries with the person's address
replaced (`ERASED`), and nothing about what they said changes: it was never theirs to find.
"""

from __future__ import annotations

import json
import secrets
from enum import StrEnum

from django.db import transaction
from django.utils.translation import gettext as _

from surveys.core.exceptions import PulseError
from surveys.core.tokens import token_hash, token_new
from surveys.models import Invitation, Membership, RosterChange, RosterChangeKind, User
from surveys.selectors.person_data import account_is_theirs_alone, person_mentions
from surveys.services.audit import audit_person_anonymise
from surveys.services.history import roster_change_record

#: What stands for an erased person's address and name wherever an entry about them is kept.
ERASED = "an erased person"
#: The domain of a former member's placeholder account (reserved: it can never receive mail).
FORMER_MEMBER_DOMAIN = "erased.invalid"


class ErasureMode(StrEnum):
    ERASE = "erase"
    ANONYMISE = "anonymise"


def person_erase(*, membership: Membership, actor: Membership | None, mode: str) -> None:
    """Erase or anonymise one person of the organisation (HR's request, previewed first)."""
    if mode not in ErasureMode.__members__.values():
        raise PulseError(_("Choose whether to erase or to anonymise the person."), code="mode")
    if actor is not None and actor.pk == membership.pk:
        raise PulseError(_("You cannot erase yourself: ask another HR person or admin."), code="mode")
    user = membership.user
    email, name = user.email, user.name
    with transaction.atomic():
        alone = account_is_theirs_alone(membership)
        _mentions_scrub(membership, email=email, name=name)
        audit_person_anonymise(membership=membership, replacement=ERASED)
        if mode == ErasureMode.ERASE:
            membership.delete()
        else:
            _anonymise(membership)
        if alone:
            user.delete()
        roster_change_record(
            organization_id=membership.organization_id,
            actor=actor,
            kind=RosterChangeKind.PERSON,
            summary=f"{'Erased' if mode == ErasureMode.ERASE else 'Anonymised'} a person on request.",
            details={"mode": str(mode)},
        )


def _anonymise(membership: Membership) -> None:
    """Their place kept under a placeholder account nobody can use; links dead."""
    placeholder = User.objects.create_user(f"former-{secrets.token_hex(8)}@{FORMER_MEMBER_DOMAIN}", name="")
    placeholder.is_active = False
    placeholder.save(update_fields=["is_active"])
    membership.user = placeholder
    membership.is_active = False
    membership.account_invited_at = None
    membership.save(update_fields=["user", "is_active", "account_invited_at"])
    membership.management.all().delete()
    for invitation in Invitation.objects.filter(membership=membership):
        invitation.token_hash, invitation.previous_token_hash = token_hash(token_new()), ""
        invitation.sent_at = invitation.reminded_at = None
        invitation.save(update_fields=["token_hash", "previous_token_hash", "sent_at", "reminded_at"])


def _mentions_scrub(membership: Membership, *, email: str, name: str) -> None:
    """The roster history keeps its entries; the person's address and name in them go."""
    for change in RosterChange.objects.filter(person_mentions(membership)):
        summary = change.summary.replace(email, ERASED)
        details = json.dumps(change.details).replace(email, ERASED)
        if len(name) >= 3:
            summary, details = summary.replace(name, ERASED), details.replace(name, ERASED)
        change.summary, change.details = summary, json.loads(details)
        change.save(update_fields=["summary", "details"])
