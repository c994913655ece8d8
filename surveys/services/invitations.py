"""Invitation and reminder e-mails, each carrying a personal link.

Only the hash of a link's token is stored, so the clear token is made at the moment its
e-mail is written and lives nowhere else. Each batch of invitations is locked, e-mailed on one
connection, and stamped (`sent_at` / `reminded_at`) in one transaction: running a job twice, or
two workers at once, never e-mails anyone twice. If the mail server fails half-way, the
messages already handed over keep their links and stamps, the rest wait for the retry.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import dateformat, timezone

from surveys.core.names import one_line
from surveys.core.tokens import invitation_url, token_hash, token_new
from surveys.engine.scheduling import Window, next_window
from surveys.models import Invitation, Membership, Round, RoundStatus, Survey, pulse_minutes

logger = logging.getLogger(__name__)

#: People who left (or were deactivated) after the round opened get no more e-mail about it.
STILL_HERE = {"membership__is_active": True, "membership__user__is_active": True}


@dataclass(frozen=True)
class _Kind:
    template: str
    subject: str
    stamp: str  # the Invitation field that records this e-mail
    keep_previous: bool  # remember the replaced hash, so the old link can say it was replaced


INVITATION = _Kind("invitation", "{organization}: your {minutes}-minute pulse is open", "sent_at", False)
REMINDER = _Kind("reminder", "{organization}: the pulse is still open until {closes}", "reminded_at", True)


def round_invitations_send(*, round_: Round) -> int:
    """E-mail every invitation of an open round that has not been sent yet; returns how many."""
    round_ = Round.objects.select_related("survey", "organization").get(pk=round_.pk)
    if round_.status != RoundStatus.OPEN:
        return 0
    pending = Invitation.objects.filter(round=round_, sent_at__isnull=True, **STILL_HERE)
    return _send(round_=round_, pending=pending, kind=INVITATION)


def round_reminders_send(*, round_: Round, now: dt.datetime | None = None) -> None:
    """Half-way through an open round, the same reminder to every invited person still here,
    whether they answered or not.

    Stops: a list of who has not answered existing anywhere. Sent only to non-respondents,
    reminders would write that list into the mail server's logs, every recipient's inbox and
    the delivery reports of a mail provider. Everyone gets it; for someone who answered, the
    fresh link says "already answered".
    """
    now = now or timezone.now()
    round_ = Round.objects.select_related("survey", "organization").get(pk=round_.pk)
    window = Window(round_.opens_at, round_.closes_at)
    if round_.status != RoundStatus.OPEN or round_.reminders_sent_at or not window.halfway <= now < window.closes_at:
        return
    pending = Invitation.objects.filter(round=round_, sent_at__isnull=False, reminded_at__isnull=True, **STILL_HERE)
    _send(round_=round_, pending=pending, kind=REMINDER)
    Round.objects.filter(pk=round_.pk, reminders_sent_at__isnull=True).update(reminders_sent_at=now)


def _send(*, round_: Round, pending: QuerySet[Invitation], kind: _Kind) -> int:
    """Send in batches until none is left, or the round closes: each batch checks that the
    round is still open (a close, by HR or by the clock, stops a long send within one batch)."""
    context = _round_context(round_)
    total = 0
    while True:
        if not _still_open(round_):
            logger.info("Round %s closed while sending %ss: %s sent, the rest not.", round_.pk, kind.template, total)
            return total
        with transaction.atomic():
            # skip_locked: a second worker takes the next batch instead of waiting for this one.
            batch = list(
                pending.select_for_update(skip_locked=True, of=("self",))
                .select_related("membership__user")
                .order_by("pk")[: settings.PULSE_EMAIL_BATCH_SIZE]
            )
            if not batch:
                return total
            delivered, error = _deliver(batch, kind=kind, context=context)
            Invitation.objects.bulk_update(delivered, ["token_hash", "previous_token_hash", kind.stamp])
        total += len(delivered)
        if error is not None:
            raise error


def _still_open(round_: Round) -> bool:
    return timezone.now() < round_.closes_at and Round.objects.filter(pk=round_.pk, status=RoundStatus.OPEN).exists()


def _deliver(batch: list[Invitation], *, kind: _Kind, context: dict) -> tuple[list[Invitation], Exception | None]:
    """Send one e-mail per invitation on one connection; returns those handed over, and the
    error that stopped the batch, if any."""
    delivered: list[Invitation] = []
    now = timezone.now()
    try:
        with get_connection() as connection:
            for invitation in batch:
                token = token_new()
                message = _message(invitation, token=token, kind=kind, context=context, connection=connection)
                if not connection.send_messages([message]):
                    raise RuntimeError(f"The mail backend did not accept the message for invitation {invitation.pk}.")
                if kind.keep_previous:
                    invitation.previous_token_hash = invitation.token_hash
                invitation.token_hash = token_hash(token)
                setattr(invitation, kind.stamp, now)
                delivered.append(invitation)
    except Exception as error:  # the mail server; re-raised after the delivered ones are saved
        logger.warning("E-mail delivery stopped (the rest waits for a retry): %s", error)
        return delivered, error
    return delivered, None


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


def _message(invitation: Invitation, *, token: str, kind: _Kind, context: dict, connection) -> EmailMultiAlternatives:
    link = invitation_url(org_slug=context["organization"].slug, token=token)
    return _compose(invitation.membership.user, kind=kind, context=context, link=link, connection=connection)


def _compose(
    user, *, kind: _Kind, context: dict, link: str, connection, subject_prefix: str = ""
) -> EmailMultiAlternatives:
    """One invitation or reminder e-mail: the one home of its subject and body, for real sends,
    previews and tests alike."""
    organization = context["organization"]
    personal = {**context, "name": user.get_short_name(), "link": link}
    closes = dateformat.format(timezone.localtime(context["round"].closes_at), "l j F")
    subject = one_line(
        subject_prefix + kind.subject.format(organization=organization.name, minutes=context["minutes"], closes=closes)
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{kind.template}.txt", personal),
        to=[user.email],
        connection=connection,
    )
    message.attach_alternative(render_to_string(f"emails/{kind.template}.html", personal), "text/html")
    return message


def survey_messages_preview(
    *, survey: Survey, user, link: str, saved: Survey | None = None
) -> dict[str, EmailMultiAlternatives]:
    """The invitation and the reminder a round of `survey` would send to `user` (the dates of
    the saved survey's next round, or those a launch now would give), carrying `link` instead
    of a personal link: what the survey form previews. `survey` may be unsaved (the form's
    texts); `saved` is the survey it edits, for its rounds and questions. Nothing is stored."""
    context = _survey_context(saved or survey, shown=survey)
    return {
        kind.template: _compose(user, kind=kind, context=context, link=link, connection=None)
        for kind in (INVITATION, REMINDER)
    }


def survey_test_send(*, survey: Survey, membership: Membership, link: str) -> None:
    """E-mail HR themselves both messages of `survey`, marked as a test, carrying `link` (the
    survey's preview page) instead of a personal link. No invitation is made."""
    context = _survey_context(survey)
    with get_connection() as connection:
        for kind in (INVITATION, REMINDER):
            message = _compose(membership.user, kind=kind, context=context, link=link, connection=connection,
                               subject_prefix="Test: ")  # fmt: skip
            connection.send_messages([message])


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
