from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from surveys.access import visible_teams
from surveys.models import (
    Invitation,
    Membership,
    Participation,
    Round,
    RoundStatus,
    Survey,
    Team,
    User,
)


def user_memberships(*, user: User) -> QuerySet[Membership]:
    """The organisations a signed-in user belongs to. Spans tenants on purpose: it only ever
    returns the user's own memberships, to let them pick an organisation."""
    return (
        Membership.all_organizations.select_related("organization", "team")
        .filter(user=user, is_active=True, organization__is_active=True)
        .order_by("organization__name")
    )


def open_pulses(*, membership: Membership) -> list[Round]:
    """Open rounds this person was invited to and has not answered yet, soonest to close first.

    The home page links each to the signed-in answering route (`pulse_answer`), which finds the
    person's own invitation; answering there or by the e-mailed link is the same thing.
    """
    now = timezone.now()
    answered = Participation.objects.filter(round=OuterRef("round"), membership=membership)
    invitations = (
        Invitation.objects.filter(
            membership=membership,
            round__status=RoundStatus.OPEN,
            round__opens_at__lte=now,
            round__closes_at__gt=now,
        )
        .filter(~Exists(answered))
        .select_related("round__survey")
        .order_by("round__closes_at")
    )
    return [invitation.round for invitation in invitations]


def led_teams(*, membership: Membership) -> QuerySet[Team]:
    return visible_teams(membership).order_by("path")


def programme_overview(*, membership: Membership) -> dict[str, int]:
    """Counts for the HR home page."""
    return {
        "people": Membership.objects.filter(is_active=True).count(),
        "teams": Team.objects.count(),
        "surveys": Survey.objects.filter(is_active=True).count(),
        "open_rounds": Round.objects.filter(status=RoundStatus.OPEN).count(),
    }
