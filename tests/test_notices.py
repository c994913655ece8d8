"""Notices that reach everyone they concern, and none that mislead: a round that published
nothing is announced to HR as such and is never the dashboards' default; invitations stop
when a round closes."""

import datetime as dt

import pytest
from django.core import mail

from surveys.models import Invitation, Round, RoundStatus
from surveys.services import invitations
from surveys.services.results import results_publish
from surveys.services.rounds import round_open
from tests.support.factories import SurveyFactory, make_manager, scheduled_round
from tests.support.results_data import FALLING, centres, published_round, spread
from tests.support.survey_data import staff, team_round


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_a_round_that_published_nothing_is_not_announced_as_ready(tenant, commit):
    with tenant.scope():
        make_manager(tenant.manager, tenant.platform)
        round_ = team_round(SurveyFactory(organization=tenant.org), {tenant.platform: 6}, answered={tenant.platform: 2})
        mail.outbox.clear()
        with commit():
            outcome = results_publish(round_id=round_.pk)
    assert outcome.teams_published == 0
    assert Round.all_organizations.get(pk=round_.pk).teams_published == 0
    assert sorted(message.to[0] for message in mail.outbox) == ["admin@acme.test", "hr@acme.test"]
    message = mail.outbox[0]
    assert message.subject.startswith("No results to show:")
    assert "no group of its 4 teams had at least 5 people answering" in message.body
    assert "Results are ready" not in message.body


def test_the_dashboards_default_skips_a_round_that_published_nothing(tenant, login, commit):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        shown = published_round(survey, {tenant.platform: spread(6, 4)}, number=1, days_ago=14)
        empty = published_round(survey, {tenant.platform: spread(2, 4)}, number=2)
    assert (shown.teams_published, empty.teams_published) == (3, 0)  # Platform, Engineering, Acme
    client = login(tenant.hr)
    for url in ("/o/acme/results/", f"/o/acme/teams/{tenant.platform.pk}/"):
        response = client.get(url)
        assert response.context["overview" if "results" in url else "d"].choice.round == shown, url
        assert "Round 2 · " in response.content.decode() and "· no results" in response.content.decode()
    chosen = client.get(f"/o/acme/results/?round={empty.pk}")
    assert chosen.context["overview"].choice.round == empty  # still there when asked for


def test_invitations_stop_when_the_round_closes_mid_send(tenant, commit, settings, monkeypatch):
    settings.PULSE_EMAIL_BATCH_SIZE = 3
    with tenant.scope():
        staff(tenant.product, 8)
        survey = SurveyFactory(organization=tenant.org)
        round_ = scheduled_round(survey, opens_in=dt.timedelta(minutes=-1))
        compose = invitations.RoundComposer.compose
        batches = []

        def compose_then_close(composer, deliveries):
            batches.append(len(deliveries))
            letters = compose(composer, deliveries)
            Round.objects.filter(pk=round_.pk).update(status=RoundStatus.CLOSED)  # HR closes it now
            return letters

        monkeypatch.setattr(invitations.RoundComposer, "compose", compose_then_close)
        mail.outbox.clear()
        with commit():
            round_open(round_=round_)
    assert batches == [3]
    assert len(mail.outbox) == 3
    assert Invitation.all_organizations.filter(round=round_, sent_at__isnull=True).count() == 12 - 3


def test_the_results_email_leads_with_what_changed(tenant, commit):
    with tenant.scope():
        make_manager(tenant.manager, tenant.platform)
        survey = SurveyFactory(organization=tenant.org)
        for number, autonomy in enumerate(FALLING, start=1):
            falling = centres(autonomy)
            steady = centres()
            answers = {tenant.platform: spread(6, falling), tenant.product: spread(6, steady)}
            mail.outbox.clear()
            with commit():
                published_round(survey, answers, number=number)
    by_address = {message.to[0]: message for message in mail.outbox}
    lead = by_address["manager@acme.test"]
    assert "- Platform: results of its own. Likely changes: Autonomy likely worsened (−50 points)." in lead.body
    assert "Likely changes" in lead.alternatives[0][0]
    hr = by_address["hr@acme.test"].body
    assert "Where to look first:\n- Acme/Engineering/Platform: Autonomy likely worsened (−50 points)" in hr
    assert "Product: Autonomy" not in hr


def test_no_flag_is_never_an_all_clear_where_a_drop_would_likely_be_missed(tenant, commit):
    with tenant.scope():
        make_manager(tenant.manager, tenant.platform)
        survey = SurveyFactory(organization=tenant.org)
        with commit():
            published_round(survey, {tenant.platform: spread(6, 4), tenant.product: spread(6, 3)}, number=1)
    by_address = {message.to[0]: message for message in mail.outbox}
    # One round: nothing compared yet, so a drop would go unseen; the e-mails say so.
    unseen = "a lasting drop of 13 points could go unseen there more often than not"
    lead = by_address["manager@acme.test"]
    assert f"- Platform: results of its own, no likely change flagged, but that is no all-clear: {unseen}" in lead.body
    assert unseen in lead.alternatives[0][0]
    hr = by_address["hr@acme.test"].body
    assert "No team shows a likely change this round. That is not an all-clear: for 4 of the teams with figures" in hr


def test_a_publication_stores_the_stability_its_flags_use_and_a_failed_estimate_still_sends_the_emails(
    tenant, commit, monkeypatch
):
    from surveys.engine.changes import CHANGE_RULE_VERSION
    from surveys.models import ChangeStability
    from surveys.selectors.results import stability_as_of
    from surveys.services import results

    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        for number in range(1, 5):
            with commit():
                made = published_round(
                    survey, {tenant.platform: spread(6, 4), tenant.product: spread(8, 3)}, number=number
                )
        # Estimated from the two leaf teams' rounds, after the publication, before the e-mails.
        stored = ChangeStability.objects.get(round=made)
        assert (stored.version, stored.number, stored.teams) == (CHANGE_RULE_VERSION, 4, 2)
        assert {"autonomy/2", "exhaustion/2"} <= set(stored.estimates)  # bank v3: two items a sign
        assert stability_as_of(round=made).round_id == made.pk
        # A redelivered task finds it stored and estimates nothing again.
        monkeypatch.setattr(results, "estimate_stability", lambda *args, **kwargs: 1 / 0)
        assert results.round_stability_estimate(round_id=made.pk) == stored
        # A failed estimate: no row, the flags use the one before, and the e-mails still go.
        mail.outbox.clear()
        with commit():
            later = published_round(survey, {tenant.platform: spread(6, 4), tenant.product: spread(8, 3)}, number=5)
        assert not ChangeStability.objects.filter(round=later).exists()
        assert stability_as_of(round=later).round_id == made.pk
    assert any("Results are ready" in message.subject for message in mail.outbox)
