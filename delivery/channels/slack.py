"""Slack: a direct message from the organisation's Pulse app, through Slack's own client.

A letter becomes a short direct message: its subject, its first paragraph and one button that
opens its link on Pulse's pages (an answer is given there, never in Slack). The message carries
the delivery's reference in its metadata, so a send a worker died in can be looked up again.
A 429 is retried after the Retry-After Slack sends (slack_sdk's rate-limit handler).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from delivery.channels import Address, ChannelError, Letter, Outcome

CHANNEL = "slack"
#: The metadata event a delivery's message carries (Slack's message metadata).
EVENT_TYPE = "pulse_delivery"
#: How many 429s in a row a call waits out before it gives up (the delivery then waits for a retry).
RATE_LIMIT_RETRIES = 3
#: How many of a conversation's latest messages are searched for a delivery's reference.
HISTORY_LIMIT = 50


def slack_client(*, token: str, base_url: str) -> WebClient:
    client = WebClient(token=token, base_url=base_url, timeout=10)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    return client


def slack_user_find(client: WebClient, *, email: str) -> str | None:
    """The Slack user of an e-mail address in the workspace (users.lookupByEmail), or None."""
    try:
        response = client.users_lookupByEmail(email=email)
    except SlackApiError as error:
        if error.response.get("error") == "users_not_found":
            return None
        raise ChannelError(f"Slack refused the lookup: {error.response.get('error')}") from error
    user = response.get("user") or {}
    if user.get("deleted") or user.get("is_bot"):
        return None
    return user.get("id")


def slack_blocks(letter: Letter) -> list[dict]:
    """The message's layout: the subject in bold, the letter's first paragraph, one link button."""
    first = letter.text.strip().split("\n\n")[0].strip()
    if first.startswith(("Hello", "Hi ")) and "\n\n" in letter.text.strip():
        first = letter.text.strip().split("\n\n")[1].strip()
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escaped(letter.subject)}*\n{_escaped(first)}"}}
    ]
    if letter.link:
        button = {"type": "button", "text": {"type": "plain_text", "text": letter.link_label or "Open"}}
        blocks.append({"type": "actions", "elements": [{**button, "url": letter.link, "action_id": "open"}]})
    return blocks


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackSender:
    channel = CHANNEL

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def send(self, letter: Letter, *, address: Address, reference: str) -> None:
        try:
            conversation = self.client.conversations_open(users=address.value)["channel"]["id"]
            self.client.chat_postMessage(
                channel=conversation,
                text=f"{letter.subject} {letter.link}".strip(),  # notifications and screen readers
                blocks=slack_blocks(letter),
                unfurl_links=False,
                metadata={"event_type": EVENT_TYPE, "event_payload": {"reference": reference}},
            )
        except SlackApiError as error:
            raise ChannelError(f"Slack refused the message: {error.response.get('error')}") from error

    def outcome(self, *, address: Address, reference: str) -> str:
        """Whether the direct message with this reference is in the conversation (Slack can be asked)."""
        try:
            conversation = self.client.conversations_open(users=address.value)["channel"]["id"]
            history = self.client.conversations_history(
                channel=conversation, limit=HISTORY_LIMIT, include_all_metadata=True
            )
        except SlackApiError:
            return Outcome.UNKNOWN
        for message in history.get("messages") or []:
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == EVENT_TYPE
                and metadata.get("event_payload", {}).get("reference") == reference
            ):
                return Outcome.SENT
        return Outcome.NOT_SENT


@contextmanager
def slack_session(*, token: str, base_url: str) -> Iterator[SlackSender]:
    yield SlackSender(slack_client(token=token, base_url=base_url))
