"""Sending a message to its people, each exactly once (docs/architecture.md, "Delivery").

A message is made with the people it is for (`message_prepare`): one `Delivery` row each,
pending. `message_deliver` then works through the pending rows in batches. Each batch is
claimed in one transaction, where the message is composed for each person (the composer may
write, e.g. a personal link's hash, so a link that goes out always works); then each letter is
handed to the person's channel and its row marked sent at once, on its own. So:

- a failure part-way (a mail server gone, a chat API refusing) marks what went out as sent and
  hands the rest back as pending: the retry sends only the rest;
- two workers never send the same row: a claimed row belongs to its worker for `CLAIM_LEASE`;
- a worker killed between handing a letter over and marking it leaves one row claimed. When its
  lease runs out, the next run asks the channel whether it went out: a chat API can be asked
  (the message carries the delivery's reference), a mail server cannot, so such an e-mail is
  never sent again (`UNCERTAIN`): it may be missing, it is never twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, ExitStack
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from delivery.channels import Address, ChannelError, Letter, Outcome, Sender, email, slack
from delivery.channels.email import email_session
from delivery.models import (
    CHAT_KINDS,
    CLAIM_LEASE,
    ChatAddress,
    ChatWorkspace,
    Delivery,
    DeliveryState,
    Message,
    MessageKind,
)
from delivery.selectors import messages_stalled
from surveys.core.enqueue import enqueue
from surveys.core.tenancy import across_organizations
from surveys.models import Membership, Organization

logger = logging.getLogger(__name__)


class Composer(Protocol):
    """What a kind of message supplies: its words for each person, and what a send records."""

    def still_wanted(self) -> bool:
        """False stops the sending (a round closed meanwhile)."""

    def compose(self, deliveries: list[Delivery]) -> dict[int, Letter | None]:
        """Each delivery's letter by its id (None: not needed any more). Runs in the claim's
        transaction: what it writes is committed before anything is sent."""

    def delivered(self, deliveries: list[Delivery], *, at: dt.datetime) -> None:
        """Record what went out where the product looks for it (an invitation's `sent_at`)."""


def _email(organization: Organization) -> AbstractContextManager[Sender]:
    return email_session()


def _slack(organization: Organization) -> AbstractContextManager[Sender]:
    workspace = ChatWorkspace.objects.get(organization=organization, channel=slack.CHANNEL)
    return slack.slack_session(token=workspace.bot_token, base_url=settings.SLACK_API_URL)


#: The channels a letter can go by: each opens a sender for a run of an organisation's deliveries.
SESSIONS: dict[str, Callable[[Organization], AbstractContextManager[Sender]]] = {
    email.CHANNEL: _email,
    slack.CHANNEL: _slack,
}


class Routes:
    """Where each person of one message is reached, and the senders open for it: the
    organisation's chat workspace when it is switched on, the message's kind may go there and
    the person is found in it (by their e-mail address); e-mail otherwise."""

    def __init__(self, message: Message, stack: ExitStack) -> None:
        self.message, self.stack = message, stack
        self.senders: dict[str, Sender] = {}
        self.workspace: ChatWorkspace | None = None
        if message.kind in CHAT_KINDS:
            self.workspace = ChatWorkspace.objects.filter(enabled=True, channel=slack.CHANNEL).first()

    def sender(self, channel: str) -> Sender:
        if channel not in self.senders:
            self.senders[channel] = self.stack.enter_context(SESSIONS[channel](self.message.organization))
        return self.senders[channel]

    def address(self, membership: Membership) -> Address:
        if self.workspace is not None:
            user_id = self._chat_user(membership)
            if user_id:
                return Address(self.workspace.channel, user_id)
        return Address(email.CHANNEL, membership.user.email)

    def _chat_user(self, membership: Membership) -> str:
        known = ChatAddress.objects.filter(membership=membership, channel=slack.CHANNEL).first()
        if known is not None and known.looked_up_at > timezone.now() - ADDRESS_KEPT:
            return known.user_id
        sender = self.sender(slack.CHANNEL)
        assert isinstance(sender, slack.SlackSender)
        try:
            user_id = slack.slack_user_find(sender.client, email=membership.user.email) or ""
        except ChannelError as error:
            logger.warning("Slack lookup failed, e-mail instead: %s", error)
            return ""
        ChatAddress.objects.update_or_create(
            membership=membership, channel=slack.CHANNEL, defaults={"user_id": user_id}
        )
        return user_id


#: How long who a person is in a chat workspace is trusted before it is looked up again.
ADDRESS_KEPT = dt.timedelta(days=7)


def message_prepare(
    *, organization: Organization, kind: str, key: str, memberships: Iterable[int], about_id: int | None = None
) -> Message:
    """The message `kind`/`key` of the organisation, made once, with a pending delivery for each
    membership that has none yet. Asking again returns the same message and adds nobody twice."""
    message, _ = Message.objects.get_or_create(
        organization=organization, kind=kind, key=key, defaults={"about_id": about_id}
    )
    rows = [Delivery(organization=organization, message=message, membership_id=pk) for pk in memberships]
    if rows:
        Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        if message.completed_at is not None and message.deliveries.filter(state=DeliveryState.PENDING).exists():
            Message.objects.filter(pk=message.pk).update(completed_at=None)
    return message


def message_deliver(*, message: Message, composer: Composer) -> int:
    """Send every pending delivery of `message`; returns how many went out. Raises the channel's
    error after marking what went out (the rest waits for a retry)."""
    total = 0
    with ExitStack() as stack:
        routes = Routes(message, stack)
        while composer.still_wanted():
            found, batch = _claim(message, composer, routes)
            if not found:
                break
            total += _send(batch, composer, routes)
    _complete(message)
    return total


def delivery_reference(delivery: Delivery) -> str:
    return f"pulse-delivery-{delivery.pk}"


def _claim(message: Message, composer: Composer, routes: Routes) -> tuple[int, list[tuple[Delivery, Letter, Address]]]:
    """Up to a batch of deliveries owed: how many rows it settled or claimed, and the letters to send."""
    now = timezone.now()
    with transaction.atomic():
        # skip_locked: a second worker takes the next batch instead of waiting for this one.
        rows = list(
            Delivery.objects.filter(message=message)
            .filter(Q(state=DeliveryState.PENDING) | Q(state=DeliveryState.CLAIMED, claimed_at__lt=now - CLAIM_LEASE))
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("membership__user")
            .order_by("pk")[: settings.PULSE_EMAIL_BATCH_SIZE]
        )
        fresh = [row for row in rows if _still_owed(row, composer, routes, now=now)]
        letters = composer.compose(fresh) if fresh else {}
        batch = []
        for row in fresh:
            letter = letters.get(row.pk)
            if letter is None or not (row.membership.is_active and row.membership.user.is_active):
                row.state = DeliveryState.SKIPPED  # not needed now, or the person left
                continue
            address = routes.address(row.membership)
            row.state, row.claimed_at, row.attempts = DeliveryState.CLAIMED, now, row.attempts + 1
            row.channel = address.channel
            batch.append((row, letter, address))
        Delivery.objects.bulk_update(rows, ["state", "claimed_at", "attempts", "channel", "sent_at"])
    return len(rows), batch


def _still_owed(row: Delivery, composer: Composer, routes: Routes, *, now: dt.datetime) -> bool:
    """A pending row is owed; a row a dead worker left claimed is owed only if its channel says
    it did not go out."""
    if row.state == DeliveryState.PENDING:
        return True
    address = routes.address(row.membership)
    outcome = Outcome.UNKNOWN
    if address.channel == row.channel:
        outcome = routes.sender(row.channel).outcome(address=address, reference=delivery_reference(row))
    if outcome == Outcome.NOT_SENT:
        return True
    row.state = DeliveryState.SENT if outcome == Outcome.SENT else DeliveryState.UNCERTAIN
    row.sent_at = now if outcome == Outcome.SENT else None
    logger.warning("Delivery %s was left mid-send: %s.", row.pk, row.state)
    composer.delivered([row], at=now)
    return False


def _send(batch: list[tuple[Delivery, Letter, Address]], composer: Composer, routes: Routes) -> int:
    for done, (row, letter, address) in enumerate(batch):
        try:
            routes.sender(address.channel).send(letter, address=address, reference=delivery_reference(row))
        except Exception as error:
            logger.warning("Delivery stopped after %s of a batch (the rest waits for a retry): %s", done, error)
            _release([r for r, _, _ in batch[done:]])
            raise
        now = timezone.now()
        with transaction.atomic():
            Delivery.objects.filter(pk=row.pk).update(state=DeliveryState.SENT, sent_at=now)
            composer.delivered([row], at=now)
    return len(batch)


def _release(rows: list[Delivery]) -> None:
    """Hand back deliveries that were claimed and not handed over: pending again."""
    Delivery.objects.filter(pk__in=[row.pk for row in rows], state=DeliveryState.CLAIMED).update(
        state=DeliveryState.PENDING, claimed_at=None
    )


def _complete(message: Message) -> None:
    unfinished = Delivery.objects.filter(message=message, state__in=(DeliveryState.PENDING, DeliveryState.CLAIMED))
    if not unfinished.exists():
        Message.objects.filter(pk=message.pk, completed_at__isnull=True).update(completed_at=timezone.now())


def messages_resume(*, now: dt.datetime | None = None) -> int:
    """The safety net: queue again every message whose hand-over to a worker was lost, or whose
    worker died (`messages_stalled`). Each resumes through the task that sends its kind, which
    sends only the deliveries still owed. Returns how many messages were queued."""
    with across_organizations():
        stalled = messages_stalled(now=now or timezone.now())
    for message in stalled:
        _resume(message)
    return len(stalled)


def _resume(message: Message) -> None:
    match message.kind:
        case MessageKind.INVITATION:
            enqueue("surveys.tasks.round_invitations_send", message.about_id)
        case MessageKind.REMINDER:
            enqueue("surveys.tasks.round_reminders_send", message.about_id)
        case MessageKind.RESULTS_READY:
            enqueue("surveys.tasks.round_results_notify", message.about_id)
        case MessageKind.ACCOUNT_SETUP:
            enqueue("surveys.tasks.account_invitations_send", message.pk)
        case MessageKind.PLAN_DUE:
            enqueue("surveys.tasks.plan_reminders_send")  # the job finds the plans still owed
        case _:
            logger.error("No task resumes a %s message (%s).", message.kind, message.pk)
