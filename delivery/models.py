"""A message and its deliveries: what was handed to which channel for whom.

A `Message` is one thing Pulse tells people (a round's invitation, its reminder, a round's
results, a plan falling due, an account's set-up link), made once with the people it is for.
A `Delivery` is that message for one person: one row per message and person (a unique
constraint), whose state says whether it went out. Sending works through the rows still
pending, so a retry completes what is missing and never repeats what went out.

Nothing here records who answered a round: a reminder's recipients are everyone invited.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q

from surveys.core.tenancy import TenantModel


class MessageKind(models.TextChoices):
    INVITATION = "invitation", "Invitation"
    REMINDER = "reminder", "Reminder"
    RESULTS_READY = "results_ready", "Results ready"
    PLAN_DUE = "plan_due", "Action plan due"
    MANAGER_DIGEST = "manager_digest", "Manager digest"
    ACCOUNT_SETUP = "account_setup", "Account set-up"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"  # not handed to a channel yet (or handed back untried)
    CLAIMED = "claimed", "Being sent"  # a worker took it and may be sending it right now
    SENT = "sent", "Sent"
    UNCERTAIN = "uncertain", "Maybe sent"  # a worker died mid-send on a channel that cannot tell
    SKIPPED = "skipped", "Not needed"  # e.g. an account set up meanwhile


#: How long a claimed delivery belongs to the worker that claimed it; after that, a worker
#: died mid-send and the next run settles it.
CLAIM_LEASE = dt.timedelta(minutes=10)

#: The states a delivery is finished in: never tried again.
FINISHED_STATES = (DeliveryState.SENT, DeliveryState.UNCERTAIN, DeliveryState.SKIPPED)


class Message(TenantModel):
    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    #: What the message is about, unique per kind within the organisation ("round:12"): asking
    #: twice for the same message gets the same one.
    key = models.CharField(max_length=100)
    #: The row it is about (a round, a plan), for the safety net that resumes it.
    about_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "kind", "key"], name="message_unique_key")]
        indexes = [
            models.Index(fields=["organization", "completed_at"], name="message_open"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class Delivery(TenantModel):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    membership = models.ForeignKey("surveys.Membership", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=20, blank=True)  # the channel that took it
    state = models.CharField(max_length=20, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "message", "membership"], name="delivery_once_per_person"),
            models.CheckConstraint(
                condition=~Q(state="sent") | Q(sent_at__isnull=False), name="delivery_sent_has_time"
            ),
        ]
        indexes = [models.Index(fields=["organization", "message", "state"], name="delivery_by_state")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.message} to {self.membership_id}: {self.state}"


#: The kinds a chat channel may carry. An account's set-up link is a key to the account: it goes
#: by e-mail only, to the address the account is.
CHAT_KINDS = frozenset(
    {MessageKind.INVITATION, MessageKind.REMINDER, MessageKind.RESULTS_READY, MessageKind.PLAN_DUE,
     MessageKind.MANAGER_DIGEST}
)  # fmt: skip


class ChatWorkspace(TenantModel):
    """An organisation's chat workspace with Pulse installed (Slack's OAuth v2 install): its
    bot token, and whether HR has switched the channel on."""

    channel = models.CharField(max_length=20, default="slack")
    workspace_id = models.CharField(max_length=40)
    workspace_name = models.CharField(max_length=200, blank=True)
    bot_user_id = models.CharField(max_length=40, blank=True)
    bot_token = models.CharField(max_length=300)  # never shown, never logged
    enabled = models.BooleanField(default=True)
    installed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "channel"], name="chat_workspace_one_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.workspace_name or self.workspace_id}"


class ChatAddress(TenantModel):
    """Who a person is in the organisation's chat workspace, found by their e-mail address
    (`user_id` empty: nobody there has it)."""

    membership = models.ForeignKey("surveys.Membership", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=20)
    user_id = models.CharField(max_length=40, blank=True)
    looked_up_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "membership", "channel"], name="chat_address_one_each")
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.user_id or '-'}"
