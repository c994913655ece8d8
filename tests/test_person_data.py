"""A person's data on request (selectors/person_data.py, services/person_data.py): HR exports
everything Pulse holds about one person as JSON, and erases or anonymises it after a preview;
both say why answers are not part of it. Pages and API, roles, the other organisation."""

import json

import pytest

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
    Participation,
    Response,
    RosterChange,
    Team,
    TeamManagement,
    User,
)
from surveys.selectors.person_data import ANSWERS_NOTE
from surveys.services.history import roster_change_record
from tests.support.factories import MembershipFactory, make_manager
from tests.support.pulses import form, open_pulse


@pytest.fixture
def answered(tenant, client):
    """The employee answered an open pulse (with a comment), was e-mailed, is named in the
    roster history, and once renamed a team (so the audit log names them)."""
    pulse = open_pulse(tenant)
    Invitation.all_organizations.filter(pk=pulse.invitation.pk).update(sent_at=pulse.round.opens_at)
    assert client.post(pulse.url, form(pulse, [4] * 12, comment="More quiet time.")).status_code == 302
    with tenant.scope():
        roster_change_record(
            organization_id=tenant.org.pk,
            actor=tenant.hr,
            kind="person",
            summary=f"Moved Erin <{tenant.employee.user.email}> to Platform.",
            details={"emails": [tenant.employee.user.email]},
        )
        with audit_context(via="web", actor=tenant.employee.pk, actor_email=tenant.employee.user.email):
            Team.objects.filter(pk=tenant.product.pk).get().save()
            team = Team.objects.get(pk=tenant.product.pk)
            team.name = "Product & Design"
            team.save()
    make_manager(tenant.employee, tenant.platform)
    return pulse


def test_hr_exports_everything_held_about_a_person_and_why_not_their_answers(tenant, other_tenant, answered, login):
    client = login(tenant.hr)
    page = client.get(f"/o/acme/people/{tenant.employee.pk}/data/").content.decode()
    assert tenant.employee.user.email in page and "Their answers are not here" in page
    response = client.get(f"/o/acme/people/{tenant.employee.pk}/data.json")
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["person"]["email"] == tenant.employee.user.email
    assert data["membership"]["team"] == "Acme/Engineering/Platform" and data["membership"]["role"] == "employee"
    assert data["teams_led"] == ["Acme/Engineering/Platform"]
    assert [i["counted_in_team"] for i in data["invitations"]] == ["Acme/Engineering/Platform"]
    assert data["invitations"][0]["emailed_at"] is not None
    assert data["rounds_answered"] == [{"survey": answered.round.survey.name, "round": answered.round.number}]
    assert "last_signed_in_at" in data["sign_ins"]
    assert any("Moved Erin" in entry["summary"] for entry in data["roster_history"])
    assert any(entry["kind"] == "team" and entry["by"] == tenant.employee.user.email for entry in data["audit_log"])
    assert data["answers_and_comments"] == ANSWERS_NOTE
    assert "More quiet time." not in response.content.decode()
    assert "globex" not in response.content.decode()


def test_only_hr_reaches_a_persons_data_and_only_their_own_organisations(tenant, other_tenant, login):
    urls = [f"/o/acme/people/{tenant.employee.pk}/{page}" for page in ("data/", "data.json", "erase/")]
    client = login(tenant.manager)
    assert [client.get(url).status_code for url in urls] == [403, 403, 403]
    client.logout()
    client = login(tenant.hr)
    others = [url.replace(str(tenant.employee.pk), str(other_tenant.employee.pk)) for url in urls]
    assert [client.get(url).status_code for url in others] == [404, 404, 404]


def test_erasing_shows_what_goes_first_and_keeps_what_was_typed(tenant, answered, login):
    client = login(tenant.hr)
    url = f"/o/acme/people/{tenant.employee.pk}/erase/"
    preview = client.get(url).content.decode()
    assert "1 invitation" in preview and "1 round they answered" in preview and "Their account" in preview
    refused = client.post(url, {"mode": "erase", "confirm": "someone@else.test"})
    assert refused.status_code == 200 and 'value="someone@else.test"' in refused.content.decode()
    assert Membership.all_organizations.filter(pk=tenant.employee.pk).exists()


def test_erasing_removes_the_person_and_scrubs_them_from_history_and_log(tenant, other_tenant, answered, login):
    email = tenant.employee.user.email
    said = {model: model.all_organizations.count() for model in (Response, Answer, Comment)}
    client = login(tenant.hr)
    done = client.post(f"/o/acme/people/{tenant.employee.pk}/erase/", {"mode": "erase", "confirm": email.upper()})
    assert done.status_code == 302
    assert not Membership.all_organizations.filter(pk=tenant.employee.pk).exists()
    assert not User.objects.filter(email=email).exists()
    assert not Invitation.all_organizations.filter(membership_id=tenant.employee.pk).exists()
    assert not Participation.all_organizations.filter(membership_id=tenant.employee.pk).exists()
    assert {model: model.all_organizations.count() for model in (Response, Answer, Comment)} == said
    with across_organizations():
        history = list(RosterChange.all_organizations.values_list("summary", "details"))
        contexts = [e.pgh_context for model in AUDITED.values() for e in model.all_organizations.all()]
    assert not any(email in summary or email in json.dumps(details) for summary, details in history)
    assert any("an erased person" in summary for summary, _ in history)
    assert not any(email in json.dumps(context) for context in contexts if context)
    assert Membership.all_organizations.filter(pk=other_tenant.employee.pk).exists()


def test_anonymising_keeps_an_inactive_former_member_whose_link_no_longer_works(tenant, answered, client, login):
    email = tenant.employee.user.email
    login(tenant.hr).post(f"/o/acme/people/{tenant.employee.pk}/erase/", {"mode": "anonymise", "confirm": email})
    former = Membership.all_organizations.select_related("user").get(pk=tenant.employee.pk)
    assert not former.is_active and former.user.email.endswith("@erased.invalid") and former.user.name == ""
    assert not TeamManagement.all_organizations.filter(membership=former).exists()
    assert Participation.all_organizations.filter(membership=former).count() == 1
    assert not User.objects.filter(email=email).exists()
    client.logout()
    assert client.get(answered.url).status_code == 404


def test_an_account_another_organisation_shares_is_left_to_it(tenant, other_tenant, login):
    shared = MembershipFactory(organization=other_tenant.org, user=tenant.employee.user)
    client = login(tenant.hr)
    data = client.get(f"/o/acme/people/{tenant.employee.pk}/data.json").json()
    assert isinstance(data["sign_ins"], str)  # not this organisation's to hand out
    assert "another organisation" in client.get(f"/o/acme/people/{tenant.employee.pk}/erase/").content.decode()
    client.post(f"/o/acme/people/{tenant.employee.pk}/erase/", {"mode": "erase", "confirm": tenant.employee.user.email})
    assert User.objects.filter(pk=tenant.employee.user_id).exists()
    assert Membership.all_organizations.filter(pk=shared.pk).exists()


def test_hr_cannot_erase_themselves(tenant, login):
    client = login(tenant.hr)
    refused = client.post(f"/o/acme/people/{tenant.hr.pk}/erase/", {"mode": "erase", "confirm": tenant.hr.user.email})
    assert refused.status_code == 200 and "You cannot erase yourself" in refused.content.decode()


def test_the_api_exports_previews_and_erases_with_a_write_key(tenant, other_tenant, answered, client):
    read = ApiKey.all_organizations.create_key(organization=tenant.org, name="r", created_by=tenant.hr)[1]
    write = ApiKey.all_organizations.create_key(organization=tenant.org, name="w", scope=ApiKeyScope.WRITE)[1]
    base = f"/api/v1/people/{tenant.employee.pk}/"

    def call(method, path, key, **kwargs):
        return getattr(client, method)(path, HTTP_AUTHORIZATION=f"Api-Key {key}", **kwargs)

    exported = call("get", base + "data/", read)
    assert exported.status_code == 200 and exported.json()["person"]["email"] == tenant.employee.user.email
    preview = call("get", base + "erasure/", read).json()
    assert preview["invitations"] == 1 and preview["account_deleted"] is True and preview["answers"] == ANSWERS_NOTE
    body = {"mode": "erase", "confirm": tenant.employee.user.email}
    assert call("post", base + "erasure/", read, data=body, content_type="application/json").status_code == 403
    wrong = call("post", base + "erasure/", write, data={**body, "confirm": "x@y.z"}, content_type="application/json")
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid"
    other = f"/api/v1/people/{other_tenant.employee.pk}/erasure/"
    assert call("get", other, write).status_code == 404
    done = call("post", base + "erasure/", write, data=body, content_type="application/json")
    assert done.status_code == 200 and "cannot be erased one person at a time" in done.json()["detail"]
    assert not Membership.all_organizations.filter(pk=tenant.employee.pk).exists()
