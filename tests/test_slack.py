"""Slack through Slack's own client (slack_sdk) against a local stand-in for its Web API: the
exact calls and payloads, the 429 retries, people matched by e-mail, e-mail as the fallback, and
a send a dead worker left settled by asking Slack."""

import datetime as dt
import json

import pytest
from django.core import mail
from django.utils import timezone

from delivery.models import ChatAddress, ChatWorkspace, Delivery, DeliveryState, Message, MessageKind
from delivery.services.messages import message_deliver
from delivery.standin import BOT_TOKEN, SlackStandIn, standin_serve
from surveys.core.tokens import token_hash
from surveys.models import Invitation, Participation
from surveys.services.accounts import account_invitations_prepare, account_invitations_send
from surveys.services.invitations import INVITATION, RoundComposer, round_reminders_send
from surveys.services.rounds import round_open
from tests.support.factories import SurveyFactory, scheduled_round


@pytest.fixture
def slack(settings):
    standin = SlackStandIn(retry_after=1)
    server = standin_serve(standin)
    settings.SLACK_API_URL = f"http://127.0.0.1:{server.server_address[1]}/api/"
    yield standin
    server.shutdown()


def slack_on(tenant, slack, *people):
    for membership in people:
        slack.user_add(membership.user.email)
    with tenant.scope():
        ChatWorkspace.objects.create(organization=tenant.org, workspace_id="T0STANDIN", bot_token=BOT_TOKEN)


def open_round(tenant, *, days_ago=0):
    round_ = scheduled_round(
        SurveyFactory(organization=tenant.org, open_days=4), opens_in=dt.timedelta(days=-days_ago, minutes=-1)
    )
    with tenant.scope():
        round_open(round_=round_, now=round_.opens_at + dt.timedelta(minutes=1))
    return round_


def posted_to(slack, user_id):
    return [m for m in slack.posted if m["channel"] == "D" + user_id[1:]]


def test_invitations_go_as_direct_messages_with_the_personal_link_and_by_e_mail_to_the_rest(
    tenant, other_tenant, slack
):
    slack_on(tenant, slack, tenant.employee, tenant.manager)
    slack.user_add(other_tenant.employee.user.email)  # in the workspace, but of an organisation without Slack
    mail.outbox.clear()
    round_ = open_round(tenant)
    theirs = open_round(other_tenant)
    from surveys.services.invitations import round_invitations_send

    with tenant.scope():
        assert round_invitations_send(round_=round_) == 4
    with other_tenant.scope():
        assert round_invitations_send(round_=theirs) == 4

    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        ["hr@acme.test", "admin@acme.test", *(f"{w}@globex.test" for w in ("employee", "manager", "hr", "admin"))]
    )
    methods = [method for method, _ in slack.calls]
    assert methods.count("users.lookupByEmail") == 4  # everyone of acme, once; nobody of globex
    assert {params["email"] for method, params in slack.calls if method == "users.lookupByEmail"} == {
        m.user.email for m in (tenant.employee, tenant.manager, tenant.hr, tenant.admin)
    }
    assert methods.count("chat.postMessage") == 2
    employee_id = slack.users[tenant.employee.user.email]
    (message,) = posted_to(slack, employee_id)
    section, actions = message["blocks"]
    assert section["text"]["text"].startswith("*Acme: your ")
    (button,) = actions["elements"]
    assert button["text"]["text"] == "Answer the pulse" and button["url"].startswith("http")
    token = button["url"].rstrip("/").rsplit("/", 1)[1]
    with tenant.scope():
        invitation = Invitation.objects.get(round=round_, membership=tenant.employee)
        delivery = Delivery.objects.get(message__kind=MessageKind.INVITATION, membership=tenant.employee)
        assert invitation.token_hash == token_hash(token) and invitation.sent_at is not None
        assert delivery.channel == "slack" and delivery.state == DeliveryState.SENT
        assert ChatAddress.objects.get(membership=tenant.hr).user_id == ""  # not in the workspace: e-mail
    assert message["metadata"] == {
        "event_type": "pulse_delivery",
        "event_payload": {"reference": f"pulse-delivery-{delivery.pk}"},
    }
    assert token not in json.dumps(slack.calls[0])  # the lookup carries no link


def test_a_rate_limited_call_is_retried_after_retry_after_and_each_person_gets_one_message(tenant, slack):
    slack_on(tenant, slack, tenant.employee, tenant.manager, tenant.hr, tenant.admin)
    slack.throttle = {"chat.postMessage": 2, "users.lookupByEmail": 1}
    round_ = open_round(tenant)
    started = timezone.now()
    from surveys.services.invitations import round_invitations_send

    with tenant.scope():
        assert round_invitations_send(round_=round_) == 4
    waited = (timezone.now() - started).total_seconds()
    posts = [params for method, params in slack.calls if method == "chat.postMessage"]
    assert len(posts) == 4 + 2  # two refused with 429, each retried after Retry-After
    assert posts[0] == posts[1] == posts[2]  # the same call, resent as it was
    assert sorted(m["channel"] for m in slack.posted) == sorted("D" + uid[1:] for uid in slack.users.values())
    assert waited >= 3 * slack.retry_after
    assert mail.outbox == []


def test_reminders_go_to_everyone_in_slack_answered_or_not_with_the_same_words(tenant, slack):
    slack_on(tenant, slack, tenant.employee, tenant.manager, tenant.hr, tenant.admin)
    round_ = open_round(tenant, days_ago=3)
    from surveys.services.invitations import round_invitations_send

    with tenant.scope():
        round_invitations_send(round_=round_)
        Participation.objects.create(round=round_, membership=tenant.manager)
        slack.posted.clear()
        round_reminders_send(round_=round_)
    assert len(slack.posted) == 4
    words = {m["blocks"][0]["text"]["text"].replace(m["blocks"][1]["elements"][0]["url"], "") for m in slack.posted}
    assert len(words) == 1 and "still open" in words.pop()


def test_account_set_up_links_never_go_to_slack(tenant, slack):
    slack_on(tenant, slack, tenant.manager)
    with tenant.scope():
        tenant.manager.user.set_unusable_password()
        tenant.manager.user.save()
        message = account_invitations_prepare(membership_ids=[tenant.manager.pk])
        assert account_invitations_send(message_id=message.pk) == 1
    assert slack.calls == [] and [m.to[0] for m in mail.outbox] == ["manager@acme.test"]


@pytest.mark.parametrize("went_out", [True, False])
def test_a_direct_message_a_dead_worker_left_is_looked_up_in_slack_and_sent_once(tenant, slack, went_out):
    slack_on(tenant, slack, tenant.employee, tenant.manager, tenant.hr, tenant.admin)
    round_ = open_round(tenant)
    with tenant.scope():
        composer = RoundComposer(round_=round_, kind=INVITATION)
        from surveys.services.invitations import round_invitations_send

        round_invitations_send(round_=round_)
        message = Message.objects.get(kind=MessageKind.INVITATION)
        stuck = message.deliveries.get(membership=tenant.employee)
        if not went_out:
            slack.posted[:] = [m for m in slack.posted if m["channel"] != "D" + slack.users["employee@acme.test"][1:]]
        # The worker died after Slack took (or before it got) the message, before marking it.
        Delivery.objects.filter(pk=stuck.pk).update(
            state=DeliveryState.CLAIMED, sent_at=None, claimed_at=timezone.now() - dt.timedelta(hours=1)
        )
        Message.objects.filter(pk=message.pk).update(completed_at=None)
        slack.calls.clear()
        message_deliver(message=message, composer=composer)
        stuck.refresh_from_db()
    methods = [method for method, _ in slack.calls]
    assert "conversations.history" in methods
    assert len(posted_to(slack, slack.users["employee@acme.test"])) == 1
    assert methods.count("chat.postMessage") == (0 if went_out else 1)
    assert stuck.state == DeliveryState.SENT
