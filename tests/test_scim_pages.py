"""HR's pages for SCIM: tokens on the settings page (shown once, revoked after a preview),
`manage.py scim_token`, and deactivations held from SCIM decided on the People page."""

import html
import io
import re

from django.core.management import call_command

from surveys.models import HeldDeactivationStatus, Membership, RosterChange, ScimHeldDeactivation, ScimToken
from surveys.services.roster.provisioning import scim_recent_deactivations
from tests.support.factories import MembershipFactory

USERS = "/scim/v2/Users"


def words(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_hr_creates_a_token_shown_once_and_revokes_it_after_a_preview(login, client, tenant):
    hr = login(tenant.hr)
    assert "No token yet" in words(hr.get("/o/acme/settings/"))
    shown = hr.post("/o/acme/settings/scim/", {"name": "Okta"}, follow=True).content.decode()
    secret = re.search(r'value="(pulse_scim_[^"]+)"', shown).group(1)
    assert "http://testserver/scim/v2/" in shown
    assert secret not in hr.get("/o/acme/settings/scim/").content.decode()  # once only
    with tenant.scope():
        token = ScimToken.objects.get()
    assert f"pulse_scim_{token.prefix}" in words(hr.get("/o/acme/settings/"))
    assert client.get(USERS, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    url = f"/o/acme/settings/scim/{token.prefix}/revoke/"
    preview = words(hr.get(url))
    assert "Revoke the token “Okta”?" in preview and "It cannot be undone." in preview
    assert client.get(USERS, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200  # a GET revokes nothing
    said = words(hr.post(url, follow=True))
    assert "is revoked" in said and "Revoked" in said
    assert client.get(USERS, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_token_pages_are_for_hr_of_their_own_organisation(login, client, tenant, other_tenant):
    with other_tenant.scope():
        theirs = ScimToken.objects.create(organization=other_tenant.org, name="Theirs", prefix="abcdabcd", hashed="x")
    hr = login(tenant.hr)
    assert hr.get(f"/o/acme/settings/scim/{theirs.prefix}/revoke/").status_code == 404
    assert hr.post(f"/o/acme/settings/scim/{theirs.prefix}/revoke/").status_code == 404
    with other_tenant.scope():
        assert ScimToken.objects.get().revoked_at is None
    assert hr.post("/o/acme/settings/scim/", {"name": ""}).status_code == 200  # the form again, with its error
    manager = login(tenant.manager)
    assert manager.get("/o/acme/settings/scim/").status_code == 403


def test_the_command_prints_a_working_token_for_the_named_organisation(client, tenant, other_tenant):
    out, err = io.StringIO(), io.StringIO()
    call_command("scim_token", "globex", "--name", "Entra ID", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert secret.startswith("pulse_scim_") and secret not in err.getvalue() and "Entra ID" in err.getvalue()
    listed = client.get(USERS, HTTP_AUTHORIZATION=f"Bearer {secret}").json()
    assert {r["userName"] for r in listed["Resources"]} >= {"employee@globex.test"}
    assert all(not r["userName"].endswith("acme.test") for r in listed["Resources"])


def test_held_deactivations_wait_on_the_people_page_until_hr_decides(login, client, tenant):
    with tenant.scope():
        people = [MembershipFactory(organization=tenant.org, team=tenant.product) for _ in range(4)]
        held = [
            ScimHeldDeactivation.objects.create(organization=tenant.org, membership=person) for person in people[:3]
        ]
    hr = login(tenant.hr)
    page = words(hr.get("/o/acme/people/"))
    assert "3 deactivations from your identity provider wait for you" in page
    assert people[0].user.email in page and "Deactivate all 3" in page
    hr.post(f"/o/acme/people/held/{held[0].pk}/", {"decision": "keep"})
    hr.post(f"/o/acme/people/held/{held[1].pk}/", {"decision": "apply"})
    with tenant.scope():
        assert Membership.objects.get(pk=people[0].pk).is_active
        assert not Membership.objects.get(pk=people[1].pk).is_active
        statuses = dict(ScimHeldDeactivation.objects.values_list("membership_id", "status"))
        assert statuses[people[0].pk] == HeldDeactivationStatus.DISMISSED
        assert statuses[people[1].pk] == HeldDeactivationStatus.APPLIED
        assert "Confirmed a deactivation held" in RosterChange.objects.first().summary
        assert scim_recent_deactivations() == 1
    # A decided one cannot be decided again; the last is still there.
    hr.post(f"/o/acme/people/held/{held[1].pk}/", {"decision": "keep"})
    with tenant.scope():
        assert not Membership.objects.get(pk=people[1].pk).is_active
    assert "1 deactivation from your identity provider waits for you" in words(hr.get("/o/acme/people/"))
    hr.post(f"/o/acme/people/held/{held[2].pk}/", {"decision": "apply", "all": "1"})
    assert "wait for you" not in words(hr.get("/o/acme/people/"))
    manager = login(tenant.manager)
    assert manager.post(f"/o/acme/people/held/{held[2].pk}/", {"decision": "keep"}).status_code == 403


def test_another_organisations_held_deactivation_is_a_404(login, tenant, other_tenant):
    with other_tenant.scope():
        held = ScimHeldDeactivation.objects.create(organization=other_tenant.org, membership=other_tenant.employee)
    hr = login(tenant.hr)
    assert hr.post(f"/o/acme/people/held/{held.pk}/", {"decision": "apply"}).status_code == 404
    with other_tenant.scope():
        assert Membership.objects.get(pk=other_tenant.employee.pk).is_active
