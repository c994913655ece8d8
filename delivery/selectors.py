"""Reads of the delivery layer."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from delivery.models import CLAIM_LEASE, DeliveryState, Message


def messages_stalled(*, now: dt.datetime) -> list[Message]:
    """Messages not finished, made more than `CLAIM_LEASE` ago, with a delivery still pending
    or claimed by a worker whose lease ran out (the hand-over to a worker was lost, or the
    worker died). Spans organisations: the caller runs it `across_organizations()`."""
    before = now - CLAIM_LEASE
    owed = Q(deliveries__state=DeliveryState.PENDING) | Q(
        deliveries__state=DeliveryState.CLAIMED, deliveries__claimed_at__lt=before
    )
    stalled = Message.all_organizations.filter(completed_at__isnull=True, created_at__lt=before).filter(owed)
    return list(stalled.distinct().select_related("organization").order_by("pk"))
