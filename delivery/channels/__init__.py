"""Channels: how a composed message reaches one person. They know nothing of the product.

A `Letter` is a message composed once, channel-free: a subject, a plain-text body, an HTML body
for channels that show one, and its one action (a personal answering link, a dashboard). Each
channel turns it into what it sends: an e-mail, a chat message with a button.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Letter:
    subject: str
    text: str
    html: str
    link: str = ""
    link_label: str = ""


@dataclass(frozen=True)
class Address:
    """Where one person is reached on a channel: an e-mail address, a chat user's id."""

    channel: str
    value: str


class ChannelError(Exception):
    """A channel refused or failed a send; the delivery waits for a retry."""


class Outcome:
    """What a channel knows of a send a dead worker left unfinished."""

    SENT = "sent"
    NOT_SENT = "not_sent"
    UNKNOWN = "unknown"


class Sender(Protocol):
    channel: str

    def send(self, letter: Letter, *, address: Address, reference: str) -> None:
        """Hand `letter` over for `address`, or raise. `reference` names the delivery, so a
        channel that can look a message up again (`outcome`) finds it by it."""

    def outcome(self, *, address: Address, reference: str) -> str:
        """Whether the delivery named `reference` went out (an `Outcome`)."""


def batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


SenderSession = AbstractContextManager[Sender]
