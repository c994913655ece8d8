"""Settings → Channels in a browser: HR adds Pulse to Slack (the local stand-in approves at
once), the invitations of a round go out there, and the demo's outbox shows them; at 1280 and
390 px, axe finds nothing serious."""

import pytest
from playwright.sync_api import expect

from delivery.standin import SlackStandIn, standin_serve
from surveys.services.invitations import round_invitations_send
from tests.support.browser import accessibility_problems, assert_fits_screen
from tests.test_slack import open_round

pytestmark = pytest.mark.usefixtures("question_bank")


@pytest.fixture
def slack(settings):
    standin = SlackStandIn(domains=("acme.test",))
    server = standin_serve(standin)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    settings.SLACK_API_URL, settings.SLACK_AUTHORIZE_URL = f"{base}/api/", f"{base}/oauth/v2/authorize"
    settings.SLACK_CLIENT_ID, settings.SLACK_CLIENT_SECRET = standin.client_id, standin.client_secret
    settings.DEBUG = True
    yield standin
    server.shutdown()


def test_hr_adds_slack_and_watches_invitations_arrive(page, phone, shot, sign_in, tenant, slack):
    sign_in(page, tenant.hr)
    page.goto("/o/acme/settings/")
    page.get_by_role("link", name="Channels").click()
    expect(page.get_by_text("Not in Slack yet")).to_be_visible()
    assert accessibility_problems(page) == []
    shot(page, "channels-empty")
    page.get_by_role("link", name="Add to Slack").click()
    expect(page.get_by_text("Pulse is in Stand-in workspace.")).to_be_visible()
    assert page.get_by_role("button", name="Switch Slack off").is_visible()
    assert accessibility_problems(page) == []
    shot(page, "channels-slack-on")

    page.get_by_role("link", name="Channel outbox (demo)").click()
    expect(page.get_by_text("No message yet")).to_be_visible()
    round_ = open_round(tenant)
    with tenant.scope():
        round_invitations_send(round_=round_)
    page.reload()
    expect(page.get_by_role("link", name="Answer the pulse")).to_have_count(4)
    assert accessibility_problems(page) == []
    shot(page, "channel-outbox")

    sign_in(phone, tenant.hr)
    phone.goto("/o/acme/settings/channels/outbox/")
    expect(phone.get_by_role("link", name="Answer the pulse")).to_have_count(4)
    assert_fits_screen(phone, "outbox")
    assert accessibility_problems(phone) == []
    shot(phone, "channel-outbox-phone")
    phone.goto("/o/acme/settings/channels/")
    assert_fits_screen(phone, "channels")
    shot(phone, "channels-phone")
