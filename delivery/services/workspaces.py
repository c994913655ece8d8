"""An organisation's chat workspace: Pulse installed into Slack (OAuth v2), switched on or off."""

from __future__ import annotations

import logging

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import AuthorizeUrlGenerator

from delivery.channels import slack
from delivery.models import ChatAddress, ChatWorkspace
from surveys.core.exceptions import PulseError
from surveys.models import Organization

logger = logging.getLogger(__name__)

#: What Pulse's bot may do in a workspace: open a direct message and write in it, read it back
#: (to settle a send a worker died in), find people by e-mail address.
SLACK_SCOPES = ["chat:write", "im:write", "im:history", "users:read", "users:read.email"]


def slack_install_url(*, state: str, redirect_uri: str) -> str:
    """Slack's page where an admin of the workspace adds Pulse (OAuth v2)."""
    if not settings.SLACK_CLIENT_ID:
        raise PulseError("Slack is not set up on this Pulse server yet (SLACK_CLIENT_ID).", code="slack")
    generator = AuthorizeUrlGenerator(
        client_id=settings.SLACK_CLIENT_ID,
        scopes=SLACK_SCOPES,
        redirect_uri=redirect_uri,
        authorization_url=settings.SLACK_AUTHORIZE_URL,
    )
    return generator.generate(state=state)


def chat_workspace_install(*, organization: Organization, code: str, redirect_uri: str) -> ChatWorkspace:
    """Exchange Slack's one-time code for the bot token of the workspace it was installed in,
    and keep it as the organisation's Slack workspace (a new install replaces the old one)."""
    client = WebClient(base_url=settings.SLACK_API_URL, timeout=10)
    try:
        granted = client.oauth_v2_access(
            client_id=settings.SLACK_CLIENT_ID,
            client_secret=settings.SLACK_CLIENT_SECRET,
            code=code,
            redirect_uri=redirect_uri,
        )
    except SlackApiError as error:
        logger.warning("Slack refused an install for organisation %s: %s", organization.pk, error.response.get("error"))
        raise PulseError("Slack did not confirm the installation. Try adding Pulse again.", code="slack") from error
    team = granted.get("team") or {}
    workspace, _ = ChatWorkspace.objects.update_or_create(
        organization=organization,
        channel=slack.CHANNEL,
        defaults={
            "workspace_id": team.get("id", ""),
            "workspace_name": team.get("name", ""),
            "bot_user_id": granted.get("bot_user_id", ""),
            "bot_token": granted["access_token"],
            "enabled": True,
        },
    )
    ChatAddress.objects.filter(channel=slack.CHANNEL).delete()  # people are found again in this workspace
    return workspace


def chat_workspace_switch(*, workspace: ChatWorkspace, enabled: bool) -> ChatWorkspace:
    """Switch the channel on or off; off, everyone is reached by e-mail."""
    workspace.enabled = enabled
    workspace.save(update_fields=["enabled"])
    return workspace


def chat_workspace_remove(*, workspace: ChatWorkspace) -> None:
    """Forget the workspace, its token and who people are in it; messages go by e-mail again."""
    ChatAddress.objects.filter(channel=workspace.channel).delete()
    workspace.delete()
