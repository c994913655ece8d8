"""The audit log (models/audit.py, docs/operations.md "Audit log"): every HR and admin action
recorded with who, when and what, through the pages and the API; set-based writes too (on
PostgreSQL, where triggers record them); never what was said, who answered or when; HR reads it
on a page and through the API, its own organisation's only."""

import pytest
from django.db import connection
from django.utils import timezone

from surveys.core.audit import audit_context
from surveys.core.tenancy import across_organizations
from surveys.models import (
    AUDITED,
    Answer,
    ApiKey,
    ApiKeyScope,
    Comment,
    Invitation,
    Membership,
    OrganizationEvent,
    Participation,
    Response,
    RoundStatus,
    Team,
    User,
)
from surveys.selectors.audit import audit_log
from surveys.services.rounds import round_close
from tests.support.factories import SurveyFactory
from tests.support.pulses import form, open_pulse
from tests.support.roster import ACME, roster
from tests.support.roster import apply as roster_apply_file


def _events() -> int:
    with across_organizations():
        return sum(event_model.all_organizations.count() for event_model in AUDITED.values())


def _log(tenant, **filters):
    with tenant.scope():
        return list(audit_log(**filters).entries)


def _latest(tenant, kind: str):
    return next(entry for entry in _log(tenant) if entry.kind == kind)


def test_hr_actions_on_the_pages_are_recorded_with_who_when_and_what(tenant, other_tenant, login):
    client = login(tenant.hr)
    start = timezone.now()
    settings_form = {"name": "Acme", "k": 6, "k_comments": 10, "support_text": "", "support_links": ""}
    assert client.post("/o/acme/settings/", {**settings_form, "answers_kept_days": 200}).status_code == 302
    settings = _latest(tenant, "settings")
    assert (settings.action, settings.actor, settings.via) == ("changed", "hr@acme.test", "web")
    assert {(c.field, c.before, c.after) for c in settings.changes} >= {
        ("anonymity threshold", "5", "6"),
        ("keep answers and comments for (days after publication)", "365", "200"),
    }
    assert settings.at >= start

    person = {"email": "mia@acme.test", "name": "Mia", "team": tenant.product.pk, "role": "employee"}
    assert client.post("/o/acme/people/new/", person).status_code == 302
    added = _latest(tenant, "person")
    assert (added.action, added.subject, added.actor) == ("created", "mia@acme.test", "hr@acme.test")

    mia = Membership.all_organizations.get(user__email="mia@acme.test")
    moved = {**person, "team": tenant.platform.pk}
    client.post(f"/o/acme/people/{mia.pk}/", moved)
    change = _latest(tenant, "person")
    assert ("team", "Acme/Engineering/Product", "Acme/Engineering/Platform") in {
        (c.field, c.before, c.after) for c in change.changes
    }

    client.post("/o/acme/settings/api-keys/", {"name": "BI", "scope": ApiKeyScope.READ})
    key = _latest(tenant, "api_key")
    assert key.action == "created" and key.subject.startswith("BI (") and key.actor == "hr@acme.test"

    assert client.get("/o/acme/people/export.csv").status_code == 200
    export = _latest(tenant, "export")
    assert (export.action, export.subject, export.actor) == ("exported", "roster export", "hr@acme.test")

    # The other organisation's log has none of it.
    assert not any(entry.actor == "hr@acme.test" for entry in _log(other_tenant))


def test_survey_and_round_actions_and_jobs_are_recorded(tenant):
    with tenant.scope(), audit_context(via="web", actor=tenant.hr.pk, actor_email="hr@acme.test"):
        survey = SurveyFactory(organization=tenant.org, name="Team pulse")
    pulse = open_pulse(tenant)
    with tenant.scope():
        round_close(round_=pulse.round, now=timezone.now())  # a job: no one signed in
    entries = _log(tenant)
    created = next(e for e in entries if e.kind == "survey" and e.subject == "Team pulse")
    assert created.action == "created" and created.actor == "hr@acme.test"
    closed = next(e for e in entries if e.kind == "round" and e.action == "changed")
    assert ("status", RoundStatus.OPEN, RoundStatus.CLOSED) in {(c.field, c.before, c.after) for c in closed.changes}
    assert closed.actor.startswith("Pulse") and closed.via == ""
    assert survey.pk


def test_answering_writes_no_event_and_the_log_never_holds_the_said_tables():
    assert not set(AUDITED) & {Response, Answer, Comment, Participation, Invitation}
    for event_model in AUDITED.values():
        columns = {field.name for field in event_model._meta.concrete_fields}
        assert not columns & {"response", "answer", "comment", "participation", "invitation", "value", "text"}


def test_an_employee_answering_changes_nothing_in_the_log(tenant, client):
    pulse = open_pulse(tenant)
    before = _events()
    client.get(pulse.url)
    assert client.post(pulse.url, form(pulse, [4] * 12, comment="Fine.")).status_code == 302
    client.get(pulse.thanks_url)
    assert _events() == before


def test_exports_through_the_api_name_the_key(tenant, client):
    _, secret = ApiKey.all_organizations.create_key(organization=tenant.org, name="Warehouse", created_by=tenant.hr)
    response = client.get("/api/v1/roster.csv?team=1", HTTP_AUTHORIZATION=f"Api-Key {secret}")
    b"".join(response.streaming_content)
    export = _latest(tenant, "export")
    assert export.subject == "api roster csv" and export.actor.startswith("API key “Warehouse”") and export.via == "api"


def test_the_page_is_hrs_and_pages_backwards(tenant, other_tenant, login):
    with tenant.scope(), audit_context(via="web", actor_email="hr@acme.test"):
        for number in range(60):
            Team.objects.create(name=f"T{number}", path=f"Acme/T{number}", parent=tenant.root)
    client = login(tenant.hr)
    page = client.get("/o/acme/settings/audit-log/").content.decode()
    assert "Acme/T59" in page and "Acme/T0<" not in page and "Older entries" in page
    with tenant.scope():
        first = audit_log()
        second = audit_log(cursor=first.next_cursor or "")
    seen = [e.cursor for e in first.entries] + [e.cursor for e in second.entries]
    assert len(seen) == len(set(seen)) and "Acme/T0" in {e.subject for e in second.entries}
    only = client.get("/o/acme/settings/audit-log/?kind=team").content.decode()
    assert "Acme/T59" in only
    assert client.get("/o/acme/settings/audit-log/?after=nonsense").status_code == 200
    client.logout()
    assert login(tenant.manager).get("/o/acme/settings/audit-log/").status_code == 403
    client.logout()
    assert login(other_tenant.hr).get("/o/acme/settings/audit-log/").status_code == 404
    assert "Acme/T59" not in client.get("/o/globex/settings/audit-log/").content.decode()


def test_an_empty_log_says_what_will_appear(db, login):
    from tests.conftest import build_tenant

    lone = build_tenant("lone", "Lone")
    with across_organizations():
        for event_model in AUDITED.values():
            event_model.all_organizations.all().delete()
    page = login(lone.hr).get("/o/lone/settings/audit-log/").content.decode()
    assert "Nothing recorded" in page


def test_the_api_serves_the_log_to_hr_and_keys(tenant, client, login):
    _, secret = ApiKey.all_organizations.create_key(organization=tenant.org, name="BI", created_by=tenant.hr)
    with tenant.scope(), audit_context(via="web", actor_email="hr@acme.test"):
        Team.objects.create(name="Sales", path="Acme/Sales", parent=tenant.root)
    response = client.get("/api/v1/audit-log/", HTTP_AUTHORIZATION=f"Api-Key {secret}")
    assert response.status_code == 200
    body = response.json()
    assert {"results", "next"} <= set(body)
    sales = next(entry for entry in body["results"] if entry["subject"] == "Acme/Sales")
    assert sales["action"] == "created" and sales["actor"] == "hr@acme.test" and sales["kind"] == "team"
    assert client.get("/api/v1/audit-log/?kind=nope", HTTP_AUTHORIZATION=f"Api-Key {secret}").status_code == 400
    assert login(tenant.manager).get("/api/v1/audit-log/").status_code == 403


@pytest.mark.usefixtures("postgres")
def test_set_based_writes_of_a_roster_import_are_recorded_by_the_triggers(tenant):
    before = _events()
    with audit_context(via="web", organization=tenant.org.pk, actor=tenant.hr.pk, actor_email="hr@acme.test"):
        roster_apply_file(tenant, roster(*ACME), importer=tenant.hr)
    with tenant.scope():
        added = {
            User.objects.get(pk=user_id).email
            for (user_id,) in AUDITED[Membership].objects.filter(pgh_label="created").values_list("user_id")
        }
        contexts = set(AUDITED[Membership].objects.values_list("pgh_context__actor_email", flat=True))
    assert {"lead@acme.test", "dev@acme.test", "new@acme.test"} <= added
    assert contexts >= {"hr@acme.test"}
    assert _events() > before
    with connection.cursor() as cursor:  # not through the ORM at all: still recorded
        cursor.execute("SELECT set_config('pulse.organization', %s, false)", [str(tenant.org.pk)])
        cursor.execute(
            "UPDATE surveys_team SET name = 'Renamed' WHERE organization_id = %s AND path = 'Acme'", [tenant.org.pk]
        )
    with tenant.scope():
        renamed = _latest(tenant, "team")
    assert ("name", "Acme", "Renamed") in {(c.field, c.before, c.after) for c in renamed.changes}


@pytest.mark.usefixtures("postgres")
def test_organization_events_have_the_row_level_security_policy(db):
    table = OrganizationEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relrowsecurity, EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid) "
            "FROM pg_class c WHERE c.relname = %s",
            [table],
        )
        assert cursor.fetchone() == (True, True)


def test_the_log_keeps_no_time_finer_than_the_change_itself(tenant):
    """An event's time is when HR's change was written, and no audited column is a time of
    answering (invitations, whose rows change as people are sent links and answer, are not
    audited at all)."""
    for event_model in AUDITED.values():
        times = {f.name for f in event_model._meta.concrete_fields if f.get_internal_type() == "DateTimeField"}
        # revoked_at: when HR (or an operator) revoked a SCIM token, an HR change like any.
        allowed = {"pgh_created_at", "opens_at", "closes_at", "answers_purged_at", "expiry_date", "revoked_at"}
        assert times <= allowed, event_model
