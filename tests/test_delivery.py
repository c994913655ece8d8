"""The delivery layer: one delivery per person and message, so a retry completes what is
missing and never repeats what went out; a worker that died mid-send; the safety net."""

import datetime as dt

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import IntegrityError, transaction
from django.utils import timezone

from delivery.channels import Address, Outcome
from delivery.models import Delivery, DeliveryState, Message, MessageKind
from delivery.services import messages
from delivery.services.messages import message_deliver, message_prepare, messages_resume
from surveys.models import Invitation, Participation, Round
from surveys.services import notices
from surveys.services.invitations import INVITATION, RoundComposer
from surveys.services.rounds import round_open
from tests.support.factories import SurveyFactory, scheduled_round
from tests.support.results_data import centres, published_round, spread


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


class FailsAfterOneBackend(LocmemBackend):
    """A mail server that takes one message, then falls over."""

    def send_messages(self, messages):
        if len(mail.outbox) >= 1:
            raise OSError("mail server went away")
        return super().send_messages(messages)


def published(tenant) -> Round:
    """A published round of the tenant whose notice has not been sent (no commit: no task ran)."""
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        answers = {tenant.platform: spread(6, centres()), tenant.product: spread(6, centres())}
        return published_round(survey, answers, number=1)


def test_the_results_notice_retried_after_a_failure_part_way_sends_only_the_rest(tenant, other_tenant, settings):
    """The results-ready e-mail used to be re-sent to everyone by a retry after a mail error."""
    round_ = published(tenant)
    published(other_tenant)
    mail.outbox.clear()
    settings.EMAIL_BACKEND = "tests.test_delivery.FailsAfterOneBackend"
    with tenant.scope(), pytest.raises(OSError):
        notices.round_results_notify(round_id=round_.pk)
    first = [message.to[0] for message in mail.outbox]
    assert len(first) == 1

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with tenant.scope():
        concerned = notices.round_results_notify(round_id=round_.pk)
        again = notices.round_results_notify(round_id=round_.pk)  # a redelivered task: nothing more
    addresses = [message.to[0] for message in mail.outbox]
    assert concerned == again == 3  # the lead, HR and the admin
    assert sorted(addresses) == sorted({"manager@acme.test", "hr@acme.test", "admin@acme.test"})
    with tenant.scope():
        message = Message.objects.get(kind=MessageKind.RESULTS_READY, key=f"round:{round_.pk}")
        assert message.completed_at is not None
        assert set(message.deliveries.values_list("state", flat=True)) == {DeliveryState.SENT}
        assert message.deliveries.get(membership=tenant.hr).attempts in (1, 2)


def test_a_message_has_one_delivery_per_person(tenant):
    with tenant.scope():
        message = message_prepare(
            organization=tenant.org, kind=MessageKind.PLAN_DUE, key="plan:1", memberships=[tenant.manager.pk]
        )
        same = message_prepare(
            organization=tenant.org, kind=MessageKind.PLAN_DUE, key="plan:1", memberships=[tenant.manager.pk]
        )
        assert same.pk == message.pk and message.deliveries.count() == 1
        with pytest.raises(IntegrityError), transaction.atomic():
            Delivery.objects.create(message=message, membership=tenant.manager)


def open_round(tenant) -> Round:
    round_ = scheduled_round(SurveyFactory(organization=tenant.org), opens_in=dt.timedelta(minutes=-1))
    with tenant.scope():
        round_open(round_=round_)  # no commit: the invitations are sent below
    return round_


def left_mid_send(tenant, round_: Round) -> tuple[Message, Delivery]:
    """The round's invitation message, one delivery of which a dead worker left claimed an hour ago."""
    with tenant.scope():
        message = message_prepare(
            organization=tenant.org,
            kind=MessageKind.INVITATION,
            key=f"round:{round_.pk}",
            about_id=round_.pk,
            memberships=Invitation.objects.filter(round=round_).values_list("membership_id", flat=True),
        )
        stuck = message.deliveries.get(membership=tenant.employee)
        Delivery.objects.filter(pk=stuck.pk).update(
            state=DeliveryState.CLAIMED, channel="email", attempts=1, claimed_at=timezone.now() - dt.timedelta(hours=1)
        )
    return message, stuck


def test_an_email_a_dead_worker_may_have_sent_is_never_sent_again(tenant):
    round_ = open_round(tenant)
    message, stuck = left_mid_send(tenant, round_)
    mail.outbox.clear()
    with tenant.scope():
        sent = message_deliver(message=message, composer=RoundComposer(round_=round_, kind=INVITATION))
        stuck.refresh_from_db()
        invitation = Invitation.objects.get(round=round_, membership=tenant.employee)
    assert sent == 3
    assert tenant.employee.user.email not in {m.to[0] for m in mail.outbox}
    assert stuck.state == DeliveryState.UNCERTAIN
    assert invitation.sent_at is not None  # it may have gone out: the reminder is still owed to them


class RecordingChannel:
    """A channel that can be asked whether a delivery went out (as a chat API can)."""

    channel = "chat"

    def __init__(self, outcome: str) -> None:
        self.outcome_given, self.sent = outcome, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send(self, letter, *, address, reference):
        self.sent.append((address.value, reference, letter.link))

    def outcome(self, *, address, reference):
        return self.outcome_given


@pytest.mark.parametrize(("outcome", "resent"), [(Outcome.NOT_SENT, True), (Outcome.SENT, False)])
def test_a_channel_that_can_tell_settles_a_send_left_by_a_dead_worker(tenant, monkeypatch, outcome, resent):
    round_ = open_round(tenant)
    message, stuck = left_mid_send(tenant, round_)
    chat = RecordingChannel(outcome)
    monkeypatch.setitem(messages.SESSIONS, "chat", lambda organization: chat)
    monkeypatch.setattr(messages.Routes, "address", lambda routes, membership: Address("chat", membership.user.email))
    Delivery.all_organizations.filter(pk=stuck.pk).update(channel="chat")
    with tenant.scope():
        message_deliver(message=message, composer=RoundComposer(round_=round_, kind=INVITATION))
        stuck.refresh_from_db()
    to_employee = [sent for sent in chat.sent if sent[0] == tenant.employee.user.email]
    assert len(to_employee) == (1 if resent else 0)
    assert len(chat.sent) == (4 if resent else 3)
    assert stuck.state == DeliveryState.SENT
    assert all(reference == f"pulse-delivery-{Delivery.all_organizations.get(pk=int(reference.rsplit('-', 1)[1])).pk}"
               for _, reference, _ in chat.sent)  # fmt: skip


def test_a_claim_within_its_lease_belongs_to_its_worker(tenant):
    round_ = open_round(tenant)
    message, stuck = left_mid_send(tenant, round_)
    Delivery.all_organizations.filter(pk=stuck.pk).update(claimed_at=timezone.now())  # its worker is alive
    mail.outbox.clear()
    with tenant.scope():
        message_deliver(message=message, composer=RoundComposer(round_=round_, kind=INVITATION))
        stuck.refresh_from_db()
        message.refresh_from_db()
    assert tenant.employee.user.email not in {m.to[0] for m in mail.outbox} and len(mail.outbox) == 3
    assert stuck.state == DeliveryState.CLAIMED and message.completed_at is None


def test_the_safety_net_resumes_messages_whose_hand_over_was_lost(tenant, other_tenant, commit):
    rounds = {t.org.slug: published(t) for t in (tenant, other_tenant)}
    for t in (tenant, other_tenant):
        with t.scope():
            message_prepare(
                organization=t.org,
                kind=MessageKind.RESULTS_READY,
                key=f"round:{rounds[t.org.slug].pk}",
                about_id=rounds[t.org.slug].pk,
                memberships=[t.hr.pk, t.admin.pk],
            )
    mail.outbox.clear()
    with commit():
        assert messages_resume() == 0  # just made: a worker may be on it
    Message.all_organizations.update(created_at=timezone.now() - dt.timedelta(hours=1))
    with commit():
        assert messages_resume() == 2
    addresses = sorted(message.to[0] for message in mail.outbox)
    everyone = [f"{who}@{slug}.test" for who in ("manager", "hr", "admin") for slug in ("acme", "globex")]
    assert addresses == sorted(everyone)
    assert not Message.all_organizations.filter(completed_at__isnull=True).exists()
    with commit():
        assert messages_resume() == 0


def test_reminders_are_owed_to_everyone_invited_and_no_delivery_says_who_answered(tenant, commit):
    round_ = scheduled_round(SurveyFactory(organization=tenant.org, open_days=4), opens_in=dt.timedelta(days=-3))
    with tenant.scope(), commit():
        round_open(round_=round_, now=round_.opens_at + dt.timedelta(minutes=1))
    with tenant.scope():
        Participation.objects.create(round=round_, membership=tenant.manager)
        from surveys.services.invitations import round_reminders_send

        round_reminders_send(round_=round_)
        reminder = Message.objects.get(kind=MessageKind.REMINDER, key=f"round:{round_.pk}")
        people = set(reminder.deliveries.values_list("membership_id", flat=True))
    assert people == {m.pk for m in (tenant.employee, tenant.manager, tenant.hr, tenant.admin)}
    related = {field.related_model for field in Delivery._meta.get_fields() if field.is_relation}
    assert Participation not in related and Invitation not in related
