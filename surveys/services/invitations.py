"""Invitations and reminders, each carrying a personal link.

Only the hash of a link's token is stored, so the clear token is made at the moment its
message is composed and lives nowhere else. Sending is the delivery layer's
(`delivery.services.messages`): one delivery per person and message, so running a job twice, or
two workers at once, never sends anyone the same message twice; if a channel fails half-way,
what went out keeps its link and stamp (`sent_at` / `reminded_at`), the rest waits for the retry.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.mail import EmailMultiAlternatives
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from delivery.channels import Address, Letter
from delivery.channels.email import email_message, email_session
from delivery.models import Delivery, MessageKind
from delivery.services.messages import message_deliver, message_prepare
from surveys.core.names import one_line
from surveys.core.tokens import invitation_url, token_hash, token_new
from surveys.core.words import Words
from surveys.engine.scheduling import Window, next_window
from surveys.models import Invitation, Membership, Round, RoundStatus, Survey, pulse_minutes

logger = logging.getLogger(__name__)

#: People who left (or were deactivated) after the round opened get no more e-mail about it.
STILL_HERE = {"membership__is_active": True, "membership__user__is_active": True}


@dataclass(frozen=True)
class _Kind:
    template: str
    subject: Words
    stamp: str  # the Invitation field that records this message
    keep_previous: bool  # remember the replaced hash, so the old link can say it was replaced
    message_kind: str
    link_label: Words


INVITATION = _Kind(
    "invitation", gettext_lazy("{organization}: your {minutes}-minute pulse is open"), "sent_at", False,
    MessageKind.INVITATION, gettext_lazy("Answer the pulse"),
)  # fmt: skip
REMINDER = _Kind(
    "reminder", gettext_lazy("{organization}: the pulse is still open until {closes}"), "reminded_at", True,
    MessageKind.REMINDER, gettext_lazy("Answer the pulse"),
)  # fmt: skip


def round_invitations_send(*, round_: Round) -> int:
    """Send every invitation of an open round that has not gone out yet; returns how many."""
    round_ = Round.objects.select_related("survey", "organization").get(pk=round_.pk)
    if round_.status != RoundStatus.OPEN:
        return 0
    pending = Invitation.objects.filter(round=round_, sent_at__isnull=True, **STILL_HERE)
    return _send(round_=round_, recipients=pending, kind=INVITATION)


def round_reminders_send(*, round_: Round, now: dt.datetime | None = None) -> None:
    """Half-way through an open round, the same reminder to every invited person still here,
    whether they answered or not.

    Stops: a list of who has not answered existing anywhere. Sent only to non-respondents,
    reminders would write that list into the mail server's logs, every recipient's inbox, a
    chat workspace's history and the delivery reports of a mail provider. Everyone gets it;
    for someone who answered, the fresh link says "already answered".
    """
    now = now or timezone.now()
    round_ = Round.objects.select_related("survey", "organization").get(pk=round_.pk)
    window = Window(round_.opens_at, round_.closes_at)
    if round_.status != RoundStatus.OPEN or round_.reminders_sent_at or not window.halfway <= now < window.closes_at:
        return
    recipients = Invitation.objects.filter(round=round_, sent_at__isnull=False, reminded_at__isnull=True, **STILL_HERE)
    _send(round_=round_, recipients=recipients, kind=REMINDER)
    Round.objects.filter(pk=round_.pk, reminders_sent_at__isnull=True).update(reminders_sent_at=now)


def _send(*, round_: Round, recipients: QuerySet[Invitation], kind: _Kind) -> int:
    """Hand the round's message to the delivery layer, for everyone in `recipients` (once each:
    asking again adds nobody twice, and sends only what has not gone out)."""
    message = message_prepare(
        organization=round_.organization,
        kind=kind.message_kind,
        key=f"round:{round_.pk}",
        about_id=round_.pk,
        memberships=recipients.values_list("membership_id", flat=True),
    )
    total = message_deliver(message=message, composer=RoundComposer(round_=round_, kind=kind))
    if not _still_open(round_):
        logger.info("Round %s closed while sending %ss: %s sent, the rest not.", round_.pk, kind.template, total)
    return total


def _still_open(round_: Round) -> bool:
    return timezone.now() < round_.closes_at and Round.objects.filter(pk=round_.pk, status=RoundStatus.OPEN).exists()


class RoundComposer:
    """A round's invitation or reminder for the delivery layer: each person's own letter with a
    fresh personal link, whose hash is stored before the letter goes anywhere."""

    def __init__(self, *, round_: Round, kind: _Kind) -> None:
        self.round_, self.kind, self.context = round_, kind, _round_context(round_)

    def still_wanted(self) -> bool:
        # Checked before each batch: a close, by HR or by the clock, stops a long send.
        return _still_open(self.round_)

    def compose(self, deliveries: list[Delivery]) -> dict[int, Letter | None]:
        invitations = {
            invitation.membership_id: invitation
            for invitation in Invitation.objects.filter(
                round=self.round_, membership_id__in=[d.membership_id for d in deliveries]
            )
        }
        letters: dict[int, Letter | None] = {}
        for delivery in deliveries:
            invitation = invitations.get(delivery.membership_id)
            if invitation is None:
                letters[delivery.pk] = None
                continue
            token = token_new()
            if self.kind.keep_previous and delivery.attempts == 0:
                invitation.previous_token_hash = invitation.token_hash
            invitation.token_hash = token_hash(token)
            link = invitation_url(org_slug=self.round_.organization.slug, token=token)
            letters[delivery.pk] = _compose(delivery.membership.user, kind=self.kind, context=self.context, link=link)
        Invitation.objects.bulk_update(invitations.values(), ["token_hash", "previous_token_hash"])
        return letters

    def delivered(self, deliveries: list[Delivery], *, at: dt.datetime) -> None:
        members = [delivery.membership_id for delivery in deliveries]
        Invitation.objects.filter(round=self.round_, membership_id__in=members).update(**{self.kind.stamp: at})


def _round_context(round_: Round) -> dict:
    questions = round_.round_questions.count()
    return {
        "organization": round_.organization,
        "survey": round_.survey,
        "round": round_,
        "k": round_.shown_k,
        "questions": questions,
        "minutes": pulse_minutes(questions),
    }


def _compose(user, *, kind: _Kind, context: dict, link: str, test: bool = False) -> Letter:
    """One invitation or reminder: the one home of its subject and body, for real sends, previews
    and tests alike, whatever the channel, written in the recipient's language
    (`User.message_language`)."""
    with translation.override(user.message_language):
        organization = context["organization"]
        personal = {**context, "name": user.get_short_name(), "link": link}
        closes = dateformat.format(timezone.localtime(context["round"].closes_at), pgettext("date format", "l j F"))
        subject = str(kind.subject).format(organization=organization.name, minutes=context["minutes"], closes=closes)
        if test:
            subject = _("Test: %(subject)s") % {"subject": subject}
        return Letter(
            subject=one_line(subject),
            text=render_to_string(f"emails/{kind.template}.txt", personal),
            html=render_to_string(f"emails/{kind.template}.html", personal),
            link=link,
            link_label=str(kind.link_label),
        )


def survey_messages_preview(
    *, survey: Survey, user, link: str, saved: Survey | None = None
) -> dict[str, EmailMultiAlternatives]:
    """The invitation and the reminder a round of `survey` would send to `user` (the dates of
    the saved survey's next round, or those a launch now would give), carrying `link` instead
    of a personal link: what the survey form previews. `survey` may be unsaved (the form's
    texts); `saved` is the survey it edits, for its rounds and questions. Nothing is stored."""
    context = _survey_context(saved or survey, shown=survey)
    return {
        kind.template: email_message(_compose(user, kind=kind, context=context, link=link), to=user.email)
        for kind in (INVITATION, REMINDER)
    }


def survey_test_send(*, survey: Survey, membership: Membership, link: str) -> None:
    """E-mail HR themselves both messages of `survey`, marked as a test, carrying `link` (the
    survey's preview page) instead of a personal link. No invitation is made."""
    context = _survey_context(survey)
    with email_session() as sender:
        for kind in (INVITATION, REMINDER):
            letter = _compose(membership.user, kind=kind, context=context, link=link, test=True)
            sender.send(letter, address=Address("email", membership.user.email), reference="")


def _survey_context(survey: Survey, *, shown: Survey | None = None) -> dict:
    """`_round_context` for a survey's next round, whether or not it exists yet (`shown`: the
    survey as the form has it, unsaved, whose name and texts the e-mails quote)."""
    round_ = None
    if survey.pk is not None:
        round_ = Round.objects.filter(survey=survey, status=RoundStatus.SCHEDULED).order_by("opens_at").first()
    if round_ is None:
        window = next_window(
            cadence=survey.cadence, starts_on=survey.starts_on, open_days=survey.open_days, not_before=None,
            now=timezone.now(),
        )  # fmt: skip
        round_ = Round(
            organization=survey.organization, survey=survey, opens_at=window.opens_at, closes_at=window.closes_at
        )
    questions = survey.survey_questions.count() if survey.pk is not None else 10
    return {
        "organization": survey.organization,
        "survey": shown or survey,
        "round": round_,
        "k": round_.shown_k,
        "questions": questions,
        "minutes": pulse_minutes(questions),
    }


def invitation_link_issue(*, invitation: Invitation) -> str:
    """A fresh personal link for one invitation, returned once and never stored (only its hash
    is). The link it replaces stops working, as after a reminder."""
    token = token_new()
    invitation.previous_token_hash = invitation.token_hash
    invitation.token_hash = token_hash(token)
    invitation.save(update_fields=["token_hash", "previous_token_hash"])
    return invitation_url(org_slug=invitation.organization.slug, token=token)
