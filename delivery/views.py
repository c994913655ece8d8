"""Settings → Channels: where HR installs Pulse into Slack and switches the channel on or off."""

import datetime as dt
import json
import secrets
from urllib.parse import urlsplit
from urllib.request import urlopen

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from delivery.channels import slack
from delivery.models import ChatAddress, ChatWorkspace, Delivery, DeliveryState
from delivery.services.workspaces import (
    chat_workspace_install,
    chat_workspace_remove,
    chat_workspace_switch,
    slack_install_url,
)
from surveys.access import role_required
from surveys.core.exceptions import PulseError
from surveys.models import HR_ROLES

#: The install under way, in the HR person's session: the state Slack must send back.
INSTALL = "pulse_slack_install"


@never_cache
@role_required(*HR_ROLES)
def channel_settings(request, org_slug: str):
    workspace = ChatWorkspace.objects.filter(channel=slack.CHANNEL).first()
    if request.method == "POST" and workspace is not None:
        action = request.POST.get("action")
        if action in ("on", "off"):
            chat_workspace_switch(workspace=workspace, enabled=action == "on")
            messages.success(request, _("Slack is on.") if action == "on" else _("Slack is off: everyone gets e-mail."))
        elif action == "remove" and request.POST.get("confirm") == "yes":
            chat_workspace_remove(workspace=workspace)
            messages.success(request, _("Pulse is removed from the Slack workspace's settings here."))
        elif action == "remove":
            return render(request, "delivery/channel_remove.html", {"workspace": workspace})
        return redirect("channel_settings", org_slug=org_slug)
    sent = Delivery.objects.filter(channel=slack.CHANNEL, state=DeliveryState.SENT).count()
    outbox = settings.DEBUG and urlsplit(settings.SLACK_API_URL).hostname in ("127.0.0.1", "localhost")
    return render(
        request, "delivery/channel_settings.html", {"workspace": workspace, "slack_sent": sent, "outbox": outbox}
    )


@role_required(*HR_ROLES)
def slack_install(request, org_slug: str):
    """Off to Slack, where an admin of the workspace adds Pulse; Slack sends them back with a code."""
    state = secrets.token_urlsafe(24)
    request.session[INSTALL] = {"state": state, "organization": request.organization.pk}
    try:
        return redirect(slack_install_url(state=state, redirect_uri=_callback_url(request, org_slug)))
    except PulseError as error:
        messages.error(request, error.message)
        return redirect("channel_settings", org_slug=org_slug)


@role_required(*HR_ROLES)
def slack_callback(request, org_slug: str):
    pending = request.session.pop(INSTALL, None) or {}
    state_ok = pending.get("organization") == request.organization.pk and secrets.compare_digest(
        str(pending.get("state", "")), str(request.GET.get("state", "-"))
    )
    if not state_ok:
        messages.error(request, _("That Slack link was not started here or has been used. Add Pulse to Slack again."))
    elif request.GET.get("error") or not request.GET.get("code"):
        messages.error(request, _("Slack was not added: the workspace's admin cancelled or refused it."))
    else:
        try:
            workspace = chat_workspace_install(
                organization=request.organization,
                code=request.GET["code"],
                redirect_uri=_callback_url(request, org_slug),
            )
        except PulseError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Pulse is in %(name)s.") % {"name": workspace.workspace_name or "Slack"})
    return redirect("channel_settings", org_slug=org_slug)


def _callback_url(request, org_slug: str) -> str:
    return request.build_absolute_uri(reverse("slack_callback", kwargs={"org_slug": org_slug}))


@never_cache
@role_required(*HR_ROLES)
def channel_outbox(request, org_slug: str):
    """The demo's window on the local Slack stand-in: the direct messages it received for this
    organisation's people, as Slack would show them. Only with DEBUG on and a stand-in on this
    machine; a 404 otherwise."""
    api = urlsplit(settings.SLACK_API_URL)
    if not settings.DEBUG or api.hostname not in ("127.0.0.1", "localhost"):
        raise Http404
    people = {
        "D" + address.user_id[1:]: address.membership
        for address in ChatAddress.objects.filter(channel=slack.CHANNEL)
        .exclude(user_id="")
        .select_related("membership__user")
    }
    try:
        with urlopen(f"{api.scheme}://{api.netloc}/outbox", timeout=3) as answer:
            posted = json.load(answer)["messages"]
    except (OSError, ValueError, KeyError):
        return render(request, "delivery/channel_outbox.html", {"unreachable": True, "posted": []})
    shown = [
        {
            "to": people[message["channel"]],
            **_words((message.get("blocks") or [{}])[0].get("text", {}).get("text", message.get("text", ""))),
            "button": _button(message),
            "at": dt.datetime.fromtimestamp(float(message["ts"]), tz=dt.UTC),
        }
        for message in reversed(posted)
        if message.get("channel") in people
    ]
    return render(request, "delivery/channel_outbox.html", {"unreachable": False, "posted": shown})


def _words(mrkdwn: str) -> dict:
    """Slack's markup as the stand-in holds it: "*subject*\nbody", escaped."""
    text = mrkdwn.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    subject, _, body = text.partition("\n")
    if subject.startswith("*") and subject.endswith("*"):
        return {"subject": subject.strip("*"), "text": body}
    return {"subject": "", "text": text}


def _button(message: dict) -> dict | None:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("url"):
                return {"label": element.get("text", {}).get("text", ""), "url": element["url"]}
    return None
