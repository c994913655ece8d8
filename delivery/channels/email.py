"""E-mail: one connection to the mail server for a run of deliveries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from delivery.channels import Address, ChannelError, Letter, Outcome

CHANNEL = "email"


def email_message(letter: Letter, *, to: str, connection=None, reference: str = "") -> EmailMultiAlternatives:
    """The e-mail a letter makes: its subject, its text and, when it has one, its HTML."""
    headers = {"X-Pulse-Delivery": reference} if reference else {}
    message = EmailMultiAlternatives(
        subject=letter.subject, body=letter.text, to=[to], connection=connection, headers=headers
    )
    if letter.html:
        message.attach_alternative(letter.html, "text/html")
    return message


class EmailSender:
    channel = CHANNEL

    def __init__(self, connection) -> None:
        self.connection = connection

    def send(self, letter: Letter, *, address: Address, reference: str) -> None:
        message = email_message(letter, to=address.value, connection=self.connection, reference=reference)
        if not self.connection.send_messages([message]):
            raise ChannelError("The mail backend did not accept the message.")

    def outcome(self, *, address: Address, reference: str) -> str:
        # A mail server cannot be asked what it took: a message a dead worker may have handed
        # over is never sent again (it would be the second copy), so its delivery stays uncertain.
        return Outcome.UNKNOWN


@contextmanager
def email_session() -> Iterator[EmailSender]:
    with get_connection(settings.EMAIL_BACKEND) as connection:
        yield EmailSender(connection)
