"""The e-mail that follows a publication: to every active lead of a team in the round's frozen
tree, and to HR and admins.

A lead reads, for each team they lead, whether it has results of its own this round; for a
hidden team, the nearest group above it that has results (where its answers count) and the one
reason Pulse ever gives: fewer than k people answered, or showing it would let someone work out
a smaller group's answers (the two are never told apart: which one applies could say who
answered). Each shown team carries its likely changes, the headline; HR and admins read how
many teams have results and where to look first, with a link to the overview. A round
that published nothing announces nothing as ready: HR and admins hear why instead, leads hear
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse

from surveys.core.names import one_line
from surveys.engine.scoring import signed_points
from surveys.models import HR_ROLES, Membership, Result, Round, RoundStatus, RoundTeam, Team, TeamManagement
from surveys.selectors.results import Flag, heatmap_flags, org_heatmap, where_to_look


@dataclass
class TeamNotice:
    team_id: int
    name: str
    url: str
    shown: bool
    nearest: str | None = None  # hidden: the nearest group above with results, if any
    changes: list[str] = field(default_factory=list)  # shown: its likely changes, in words


@dataclass
class Recipient:
    membership: Membership
    teams: list[TeamNotice] = field(default_factory=list)
    is_hr: bool = False


def round_results_notify(*, round_id: int) -> int:
    """E-mail everyone a publication concerns, one message each, on one connection. Returns
    how many were sent."""
    round_ = Round.objects.select_related("survey", "organization").get(pk=round_id)
    if round_.status != RoundStatus.PUBLISHED:
        return 0
    shown = set(Result.objects.filter(round=round_).values_list("team_id", flat=True))
    recipients: dict[int, Recipient] = {}
    look_first: tuple[Flag, ...] = ()
    if shown:
        # The flags the overview shows (the same rule and false discovery rate), by team.
        heatmap = org_heatmap(round=round_)
        flags = heatmap_flags(heatmap)
        look_first = where_to_look({row.team.pk: row.team for row in heatmap.rows}, flags)
        for membership, notice in _lead_notices(round_, shown):
            notice.changes = [_headline(f) for f in look_first if f.team.pk == notice.team_id]
            recipients.setdefault(membership.pk, Recipient(membership)).teams.append(notice)
    for membership in Membership.objects.filter(role__in=HR_ROLES, is_active=True, user__is_active=True).select_related(
        "user"
    ):
        recipients.setdefault(membership.pk, Recipient(membership)).is_hr = True
    scope_size = RoundTeam.objects.filter(round=round_).count()
    with get_connection() as connection:
        for recipient in recipients.values():
            message = _message(
                round_, recipient, shown=len(shown), scope_size=scope_size, look_first=look_first, connection=connection
            )
            message.send()
    return len(recipients)


#: How many likely changes HR's e-mail lists (the overview has them all).
HR_HEADLINES = 5


def _headline(flag: Flag) -> str:
    return f"{flag.label} {flag.change.label.lower()} ({signed_points(flag.points)} points)"


def _lead_notices(round_: Round, shown: set[int]):
    """(lead, notice) for every active lead of a team in the round's frozen tree."""
    parent_of = dict(RoundTeam.objects.filter(round=round_).values_list("team_id", "parent_id"))
    names = dict(Team.objects.filter(pk__in=list(parent_of)).values_list("id", "name"))
    links = (
        TeamManagement.objects.filter(
            team_id__in=list(parent_of), membership__is_active=True, membership__user__is_active=True
        )
        .select_related("team", "membership__user")
        .order_by("membership_id", "team__path")
    )
    for link in links:
        team_id = link.team_id
        notice = TeamNotice(
            team_id=team_id, name=link.team.name, url=_dashboard_url(round_, team_id), shown=team_id in shown
        )
        if not notice.shown:
            above = parent_of.get(team_id)
            while above is not None and above not in shown:
                above = parent_of.get(above)
            notice.nearest = names.get(above) if above is not None else None
        yield link.membership, notice


def _dashboard_url(round_: Round, team_id: int) -> str:
    # The round in the link: the dashboard shows this round even if another survey publishes later.
    path = reverse("team_dashboard", kwargs={"org_slug": round_.organization.slug, "team_id": team_id})
    return f"{settings.PULSE_BASE_URL}{path}?round={round_.pk}"


def _message(round_: Round, recipient: Recipient, *, shown: int, scope_size: int, look_first, connection):
    organization = round_.organization
    overview = reverse("org_results", kwargs={"org_slug": organization.slug})
    context = {
        "round": round_,
        "organization": organization,
        "name": recipient.membership.user.get_short_name(),
        "teams": recipient.teams,
        "is_hr": recipient.is_hr,
        "shown": shown,
        "scope_size": scope_size,
        "k": round_.shown_k,
        "look_first": [(flag.team.path, _headline(flag)) for flag in look_first[:HR_HEADLINES]],
        "more_changes": max(0, len(look_first) - HR_HEADLINES),
        "overview_url": f"{settings.PULSE_BASE_URL}{overview}?round={round_.pk}",
        "settings_url": settings.PULSE_BASE_URL
        + reverse("organization_settings", kwargs={"org_slug": organization.slug}),
    }
    template = "results_ready" if shown else "results_none"
    subject = (
        f"Results are ready: {round_.survey.name}, round {round_.number}"
        if shown
        else f"No results to show: {round_.survey.name}, round {round_.number}"
    )
    message = EmailMultiAlternatives(
        subject=one_line(subject),
        body=render_to_string(f"emails/{template}.txt", context),
        to=[recipient.membership.user.email],
        connection=connection,
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    return message
