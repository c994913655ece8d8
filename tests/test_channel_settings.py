"""Settings → Channels: Slack's OAuth v2 install against the local stand-in, the switch, the
removal previewed first; HR only, each organisation its own workspace."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail

from delivery.models import ChatAddress, ChatWorkspace
from delivery.standin import BOT_TOKEN, SlackStandIn, standin_serve
from surveys.services.invitations import round_invitations_send
from tests.test_slack import open_round


@pytest.fixture
def slack(settings):
    standin = SlackStandIn()
    server = standin_serve(standin)
    settings.SLACK_API_URL = f"http://127.0.0.1:{server.server_address[1]}/api/"
    settings.SLACK_CLIENT_ID, settings.SLACK_CLIENT_SECRET = standin.client_id, standin.client_secret
    settings.SLACK_AUTHORIZE_URL = "https://slack.example/oauth/v2/authorize"
    yield standin
    server.shutdown()


def install(client, *, code="standin-code", state=None):
    started = client.get("/o/acme/settings/channels/slack/add/")
    assert started.status_code == 302
    query = parse_qs(urlsplit(started["Location"]).query)
    back = client.get(
        "/o/acme/settings/channels/slack/callback/", {"code": code, "state": state or query["state"][0]}, follow=True
    )
    return query, back


def test_hr_adds_pulse_to_slack_through_oauth(tenant, other_tenant, login, slack):
    client = login(tenant.hr)
    page = client.get("/o/acme/settings/channels/")
    assert b"Not in Slack yet" in page.content and b"Add to Slack" in page.content
    query, back = install(client)
    assert query["client_id"] == [slack.client_id]
    assert query["scope"] == ["chat:write,im:write,im:history,users:read,users:read.email"]
    assert query["redirect_uri"] == ["http://testserver/o/acme/settings/channels/slack/callback/"]
    assert b"Pulse is in Stand-in workspace." in back.content
    (call,) = slack.calls
    assert call[0] == "oauth.v2.access" and call[1]["code"] == "standin-code"
    assert call[1]["redirect_uri"] == "http://testserver/o/acme/settings/channels/slack/callback/"
    workspace = ChatWorkspace.all_organizations.get()
    assert (workspace.organization, workspace.workspace_id, workspace.bot_token) == (tenant.org, "T0STANDIN", BOT_TOKEN)
    assert BOT_TOKEN.encode() not in back.content
    # Another organisation's HR sees no workspace of theirs.
    assert b"Not in Slack yet" in login(other_tenant.hr).get("/o/globex/settings/channels/").content


@pytest.mark.parametrize(
    ("code", "state", "says"),
    [
        ("standin-code", "forged", b"was not started here"),
        ("wrong-code", None, b"Slack did not confirm the installation"),
    ],
)
def test_a_forged_or_refused_install_stores_nothing(tenant, login, slack, code, state, says):
    _, back = install(login(tenant.hr), code=code, state=state)
    assert back.status_code == 200 and says in back.content
    assert not ChatWorkspace.all_organizations.exists()


def test_without_slack_credentials_the_page_says_so(tenant, login, settings):
    settings.SLACK_CLIENT_ID = ""
    back = login(tenant.hr).get("/o/acme/settings/channels/slack/add/", follow=True)
    assert b"Slack is not set up on this Pulse server yet" in back.content


def test_employees_and_managers_may_not_open_channels(tenant, login):
    for membership in (tenant.employee, tenant.manager):
        assert login(membership).get("/o/acme/settings/channels/").status_code == 403


def test_switched_off_slack_leaves_everyone_on_e_mail_and_removal_is_previewed(tenant, login, slack):
    client = login(tenant.hr)
    install(client)
    slack.user_add(tenant.employee.user.email)
    client.post("/o/acme/settings/channels/", {"action": "off"})
    mail.outbox.clear()
    round_ = open_round(tenant)
    with tenant.scope():
        round_invitations_send(round_=round_)
    assert len(mail.outbox) == 4 and slack.posted == []

    preview = client.post("/o/acme/settings/channels/", {"action": "remove"})
    assert b"Remove Slack?" in preview.content and ChatWorkspace.all_organizations.exists()
    with tenant.scope():
        ChatAddress.objects.create(membership=tenant.employee, channel="slack", user_id="U1")
    client.post("/o/acme/settings/channels/", {"action": "remove", "confirm": "yes"})
    assert not ChatWorkspace.all_organizations.exists() and not ChatAddress.all_organizations.exists()


def test_the_demo_outbox_shows_the_stand_ins_messages_to_this_organisations_people(
    tenant, other_tenant, login, slack, settings
):
    settings.DEBUG = True
    slack.domains = ("acme.test", "globex.test")
    install(login(tenant.hr))
    mail.outbox.clear()
    round_ = open_round(tenant)
    with tenant.scope():
        round_invitations_send(round_=round_)
    assert mail.outbox == [] and len(slack.posted) == 4

    page = login(tenant.hr).get("/o/acme/settings/channels/outbox/")
    assert page.status_code == 200
    shown = page.context["posted"]
    assert sorted(m["to"].user.email for m in shown) == sorted(
        m.user.email for m in (tenant.employee, tenant.manager, tenant.hr, tenant.admin)
    )
    assert all(m["button"]["label"] == "Answer the pulse" and "/answer/acme/" in m["button"]["url"] for m in shown)
    # Another organisation sees none of them; without DEBUG the page does not exist.
    assert b"No message yet" in login(other_tenant.hr).get("/o/globex/settings/channels/outbox/").content
    settings.DEBUG = False
    assert login(tenant.hr).get("/o/acme/settings/channels/outbox/").status_code == 404


def test_the_outbox_says_when_the_stand_in_is_not_running(tenant, login, settings):
    settings.DEBUG = True
    settings.SLACK_API_URL = "http://127.0.0.1:9/api/"  # nothing listens on the discard port
    page = login(tenant.hr).get("/o/acme/settings/channels/outbox/")
    assert b"The Slack stand-in is not running." in page.content


def test_the_stand_ins_authorize_page_sends_the_admin_straight_back_with_a_code(slack, settings):
    import http.client

    port = int(urlsplit(settings.SLACK_API_URL).port)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/oauth/v2/authorize?redirect_uri=http://testserver/back/&state=abc")
    answer = connection.getresponse()
    assert answer.status == 302
    assert answer.getheader("Location") == "http://testserver/back/?code=standin-code&state=abc"
