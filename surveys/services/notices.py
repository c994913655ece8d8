"""The e-mail that follows a publication: to every active lead of a team in the round's frozen
tree, and to HR and admins.

A lead reads, for each team they lead, what the pages say of it (`selectors.coverage`): its
figures, partial or whole, with its likely changes; or why it has none (fewer than k of its
people answered, or it is counted with another team) and which figures hold its answers. All
of that is public under the publication rule, so it may be said precisely. HR and admins read
how many teams have results and where to look first, with a link to the overview. A round
that published nothing announces nothing as ready: HR and admins hear why instead, leads hear
nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from delivery.channels import Letter
from delivery.models import Delivery, MessageKind
from delivery.services.messages import message_deliver, message_prepare
from surveys.core.names import one_line
from surveys.engine.scoring import signed_points
from surveys.models import HR_ROLES, Membership, Result, Round, RoundStatus, RoundTeam, TeamManagement
from surveys.selectors.coverage import Coverage, Reason, round_coverage
from surveys.selectors.results import MISSED_POINTS, Flag, ViewFlags, heatmap_flags, org_heatmap, where_to_look


@dataclass
class TeamNotice:
    team_id: int
    name: str
    url: str
    coverage: Coverage
    changes: list[Flag] = field(default_factory=list)  # shown: its likely changes (words in the reader's language)
    missable: bool = False  # shown: a lasting drop of MISSED_POINTS could go unseen more often than not

    @property
    def shown(self) -> bool:
        return self.coverage.shown

    @property
    def line(self) -> str:
        """What the e-mail says of the team after its name (text; the HTML escapes it)."""
        c = self.coverage
        if c.shown:
            left_out = len(c.missing) + c.missing_more
            partial = (
                " "
                + ngettext(
                    "(partial: %(count)s team below is not in it)",
                    "(partial: %(count)s teams below are not in it)",
                    left_out,
                )
                % {"count": left_out}
                if c.partial
                else ""
            )
            headlines = [_headline(flag) for flag in self.changes]
            changes = (
                ". " + _("Likely changes: %(changes)s") % {"changes": "; ".join(headlines)}
                if headlines
                else ", " + _("no likely change flagged")
            )
            return _("results of its own") + partial + changes + _missable(self.missable and not self.changes) + "."
        where = (
            _("its answers are in the figures of %(team)s") % {"team": c.entered.name}
            if c.entered
            else _("its answers are in no figures")
        )
        if c.reason == Reason.TOO_FEW:
            return ngettext(
                "no figures of its own: fewer than %(k)s of its %(count)s person answered; %(where)s.",
                "no figures of its own: fewer than %(k)s of its %(count)s people answered; %(where)s.",
                c.unit_people,
            ) % {"k": c.k, "count": c.unit_people, "where": where}
        if c.reason == Reason.COUNTED_WITH and c.counted_with is not None:
            return _("its people are counted with %(team)s, whose figures hold their answers.") % {
                "team": c.counted_with.name
            }
        if c.reason == Reason.NOBODY:
            return _("nobody in the team itself was invited; the teams below it are listed on its page.")
        return _("hidden this round; %(where)s.") % {"where": where}


@dataclass
class Recipient:
    membership: Membership
    teams: list[TeamNotice] = field(default_factory=list)
    is_hr: bool = False


def round_results_notify(*, round_id: int) -> int:
    """Tell everyone a publication concerns, one message each, through the delivery layer (once
    each: a retry sends only those still owed). Returns how many it concerns."""
    round_ = Round.objects.select_related("survey", "organization").get(pk=round_id)
    if round_.status != RoundStatus.PUBLISHED:
        return 0
    shown = set(Result.objects.filter(round=round_).values_list("team_id", flat=True))
    recipients: dict[int, Recipient] = {}
    look_first: tuple[Flag, ...] = ()
    flags = ViewFlags()
    if shown:
        # The flags the overview shows (the same rule and false discovery rate), by team.
        heatmap = org_heatmap(round=round_)
        flags = heatmap_flags(heatmap)
        look_first = where_to_look({row.team.pk: row.team for row in heatmap.rows}, flags)
        for membership, notice in _lead_notices(round_):
            notice.changes = [f for f in look_first if f.team.pk == notice.team_id]
            notice.missable = notice.team_id in flags.missable
            recipients.setdefault(membership.pk, Recipient(membership)).teams.append(notice)
    for membership in Membership.objects.filter(role__in=HR_ROLES, is_active=True, user__is_active=True).select_related(
        "user"
    ):
        recipients.setdefault(membership.pk, Recipient(membership)).is_hr = True
    scope_size = RoundTeam.objects.filter(round=round_).count()
    message = message_prepare(
        organization=round_.organization,
        kind=MessageKind.RESULTS_READY,
        key=f"round:{round_.pk}",
        about_id=round_.pk,
        memberships=list(recipients),
    )
    composer = NoticeComposer(
        round_, recipients, shown=len(shown), scope_size=scope_size, look_first=look_first, missable=len(flags.missable)
    )
    message_deliver(message=message, composer=composer)
    return len(recipients)


@dataclass
class NoticeComposer:
    """The publication's notice for the delivery layer: each recipient's letter, worked out
    before anything is sent, so a retry sends the rest the same words."""

    round_: Round
    recipients: dict[int, Recipient]
    shown: int
    scope_size: int
    look_first: tuple[Flag, ...]
    missable: int

    def still_wanted(self) -> bool:
        return True

    def compose(self, deliveries: list[Delivery]) -> dict[int, Letter | None]:
        letters: dict[int, Letter | None] = {}
        for delivery in deliveries:
            recipient = self.recipients.get(delivery.membership_id)
            letters[delivery.pk] = None if recipient is None else self._letter(recipient)
        return letters

    def delivered(self, deliveries: list[Delivery], *, at: dt.datetime) -> None:
        """A notice is recorded by its delivery alone."""

    def _letter(self, recipient: Recipient) -> Letter:
        return _message(
            self.round_, recipient, shown=self.shown, scope_size=self.scope_size, look_first=self.look_first,
            missable=self.missable,
        )  # fmt: skip


#: How many likely changes HR's e-mail lists (the overview has them all).
HR_HEADLINES = 5


def _headline(flag: Flag) -> str:
    return _("%(measure)s %(change)s (%(points)s points)") % {
        "measure": flag.label,
        "change": str(flag.change.label).lower(),
        "points": signed_points(flag.points),
    }


def _missable(missable: bool) -> str:
    """After "no likely change flagged", for a team where a drop would likely be missed."""
    if not missable:
        return ""
    return ", " + _(
        "but that is no all-clear: a lasting drop of %(points)s points could go unseen there more often "
        "than not (a small team, or too few rounds so far)"
    ) % {"points": MISSED_POINTS}


def _lead_notices(round_: Round):
    """(lead, notice) for every active lead of a team in the round's frozen tree."""
    in_round = RoundTeam.objects.filter(round=round_).values("team_id")
    links = list(
        TeamManagement.objects.filter(
            team_id__in=in_round, membership__is_active=True, membership__user__is_active=True
        )
        .select_related("team", "membership__user")
        .order_by("membership_id", "team__path")
    )
    coverage = round_coverage(round=round_, team_ids=sorted({link.team_id for link in links}))
    for link in links:
        team_id = link.team_id
        yield link.membership, TeamNotice(team_id, link.team.name, _dashboard_url(round_, team_id), coverage[team_id])


def _dashboard_url(round_: Round, team_id: int) -> str:
    # The round in the link: the dashboard shows this round even if another survey publishes later.
    path = reverse("team_dashboard", kwargs={"org_slug": round_.organization.slug, "team_id": team_id})
    return f"{settings.PULSE_BASE_URL}{path}?round={round_.pk}"


def _message(round_: Round, recipient: Recipient, *, shown: int, scope_size: int, look_first, missable: int) -> Letter:
    """The recipient's letter, composed in their language (`User.message_language`)."""
    with translation.override(recipient.membership.user.message_language):
        return _message_composed(
            round_, recipient, shown=shown, scope_size=scope_size, look_first=look_first, missable=missable
        )


def _message_composed(
    round_: Round, recipient: Recipient, *, shown: int, scope_size: int, look_first, missable: int
) -> Letter:
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
        "missable": missable,
        "missed_points": MISSED_POINTS,
        "overview_url": f"{settings.PULSE_BASE_URL}{overview}?round={round_.pk}",
        "settings_url": settings.PULSE_BASE_URL
        + reverse("organization_settings", kwargs={"org_slug": organization.slug}),
    }
    template = "results_ready" if shown else "results_none"
    subject = (
        _("Results are ready: %(survey)s, round %(number)s")
        if shown
        else _("No results to show: %(survey)s, round %(number)s")
    ) % {"survey": round_.survey.name, "number": round_.number}
    return Letter(
        subject=one_line(subject),
        text=render_to_string(f"emails/{template}.txt", context),
        html=render_to_string(f"emails/{template}.html", context),
        link=context["overview_url"] if recipient.is_hr or not recipient.teams else recipient.teams[0].url,
        link_label=_("See the results"),
    )
