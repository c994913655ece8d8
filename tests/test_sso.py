"""Single sign-on per organisation (docs/architecture.md, "Signing in"), through a real OpenID
Connect provider (django-oauth-toolkit's, a process of its own): a sign-in links only to a person
on the organisation's roster, an organisation's provider never opens another organisation, and
an organisation can refuse managers' and HR's passwords."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection

from surveys.core.exceptions import PulseError
from surveys.core.tenancy import organization_scope
from surveys.models import IdentityProvider, IdentityProviderEvent, Role, User
from surveys.services.identity import SSO_SESSION_KEY, identity_provider_save, sso_member_find
from tests.support.factories import PASSWORD, MembershipFactory
from tests.support.identity_providers import oidc_provider, oidc_sign_in
from tests.support.oidc_idp import IDP_PASSWORD
from tests.test_row_level_security import app_role, roles  # noqa: F401 (fixtures)

CALLBACK = "http://testserver/sso/oidc/acme/login/callback/"
STRANGER = "stranger@acme.test"


def _configure(org, running, **overrides):
    fields = {
        "protocol": "oidc",
        "is_enabled": True,
        "label": "Acme IdP",
        "email_domains": "acme.test",
        "oidc_issuer": running.url,
        "oidc_client_id": running.client_id,
        "oidc_client_secret": running.client_secret,
        "required_for_managers": False,
        "signed_in_through_it": True,
        **overrides,
    }
    return identity_provider_save(organization=org, **fields)


@pytest.fixture(scope="module")
def running_provider():
    emails = ["hr@acme.test", "manager@acme.test", "employee@acme.test", "hr@globex.test", STRANGER]
    with oidc_provider(redirect_uri=CALLBACK, emails=emails) as running:
        yield running


@pytest.fixture
def acme_sso(tenant, other_tenant, running_provider):
    _configure(tenant.org, running_provider)
    return running_provider


def test_a_person_on_the_roster_is_signed_in_to_their_organisation(client, tenant, acme_sso):
    answer = oidc_sign_in(client, acme_sso, slug="acme", email="hr@acme.test", password=IDP_PASSWORD)
    assert answer.status_code == 302 and answer["Location"] == "/o/acme/"
    assert int(client.session[SESSION_KEY]) == tenant.hr.user_id
    assert client.session[SSO_SESSION_KEY] == tenant.org.pk
    assert client.get("/o/acme/").status_code == 200


def test_someone_the_provider_knows_but_the_roster_does_not_is_refused_and_nothing_is_made(client, tenant, acme_sso):
    people = User.objects.count()
    answer = oidc_sign_in(client, acme_sso, slug="acme", email=STRANGER, password=IDP_PASSWORD)
    assert answer.status_code == 403
    assert "is not on Acme&#x27;s roster in Pulse" in answer.content.decode()
    assert SESSION_KEY not in client.session
    assert User.objects.count() == people  # no self-registration into a tenant


def test_another_organisations_person_is_refused_by_this_organisations_provider(client, other_tenant, acme_sso):
    answer = oidc_sign_in(client, acme_sso, slug="acme", email="hr@globex.test", password=IDP_PASSWORD)
    assert answer.status_code == 403
    assert SESSION_KEY not in client.session
    assert client.get("/o/globex/").status_code == 302  # to the sign-in page


def test_a_sign_in_through_one_organisations_provider_never_opens_another(client, tenant, other_tenant, acme_sso):
    MembershipFactory(organization=other_tenant.org, user=tenant.hr.user, role=Role.HR)
    oidc_sign_in(client, acme_sso, slug="acme", email="hr@acme.test", password=IDP_PASSWORD)
    assert client.get("/o/acme/").status_code == 200
    elsewhere = client.get("/o/globex/")
    assert elsewhere.status_code == 403
    assert "needs its own sign-in" in elsewhere.content.decode()
    assert client.get("/o/globex/people/").status_code == 403


def test_a_provider_turned_off_signs_nobody_in(client, tenant, acme_sso):
    _configure(tenant.org, acme_sso, is_enabled=False)
    assert client.post("/sso/oidc/acme/login/").status_code == 404
    assert client.post("/sso/oidc/globex/login/").status_code == 404  # an organisation without one
    assert client.post("/sso/oidc/nowhere/login/").status_code == 404


def test_the_roster_lookup_reads_only_the_providers_organisation(tenant, other_tenant):
    assert sso_member_find(organization=tenant.org, email="HR@acme.test").pk == tenant.hr.pk
    with pytest.raises(PulseError) as refused:
        sso_member_find(organization=tenant.org, email="hr@globex.test")
    assert refused.value.code == "not_on_roster"
    with organization_scope(tenant.org):
        tenant.employee.is_active = False
        tenant.employee.save()
    with pytest.raises(PulseError):
        sso_member_find(organization=tenant.org, email=tenant.employee.user.email)


def test_required_sign_on_refuses_managers_and_hr_passwords_but_not_employees(client, tenant, other_tenant, acme_sso):
    _configure(tenant.org, acme_sso, required_for_managers=True)
    for membership in (tenant.manager, tenant.hr, tenant.admin):
        refused = client.post("/accounts/login/", {"username": membership.user.email, "password": PASSWORD})
        assert refused.status_code == 200
        assert "asks managers, HR and admins to sign in through its identity provider" in refused.content.decode()
        assert "/sso/oidc/acme/login/" in refused.content.decode()  # the button to the provider
        assert SESSION_KEY not in client.session
    wrong = client.post("/accounts/login/", {"username": tenant.hr.user.email, "password": "not-it"})
    assert "identity provider" not in wrong.content.decode()  # said only after the right password
    employee = client.post("/accounts/login/", {"username": tenant.employee.user.email, "password": PASSWORD})
    assert employee.status_code == 302
    client.logout()
    globex = client.post("/accounts/login/", {"username": other_tenant.hr.user.email, "password": PASSWORD})
    assert globex.status_code == 302  # another organisation's choice is its own


def test_required_sign_on_sends_a_manager_signed_in_by_password_to_it(login, tenant, other_tenant, acme_sso):
    client = login(tenant.manager)  # signed in before the organisation required it
    _configure(tenant.org, acme_sso, required_for_managers=True)
    answer = client.get("/o/acme/")
    assert answer.status_code == 403
    assert "asks managers, HR and admins to sign in through its identity provider" in answer.content.decode()


def test_required_sign_on_lets_the_manager_in_through_the_provider(client, tenant, acme_sso):
    _configure(tenant.org, acme_sso, required_for_managers=True)
    answer = oidc_sign_in(client, acme_sso, slug="acme", email="manager@acme.test", password=IDP_PASSWORD)
    assert answer["Location"] == "/o/acme/"
    assert client.get("/o/acme/").status_code == 200


def test_the_sign_in_page_finds_the_provider_by_domain_or_name_and_says_the_same_for_none(client, acme_sso):
    for typed in ("someone@ACME.test", "acme"):
        found = client.post("/accounts/sso/", {"name_or_email": typed})
        assert found.status_code == 200 and "/sso/oidc/acme/login/" in found.content.decode()
    misses = [client.post("/accounts/sso/", {"name_or_email": typed}) for typed in ("globex", "x@globex.test", "nope")]
    assert {answer.status_code for answer in misses} == {404}
    assert len({answer.content.decode().count("Pulse knows no organisation") for answer in misses}) == 1
    assert client.post("/accounts/sso/", {"name_or_email": "%' OR 1=1 --"}).status_code == 404


def test_the_login_page_offers_the_provider_of_the_page_asked_for(client, acme_sso):
    assert "/sso/oidc/acme/login/" in client.get("/accounts/login/?next=/o/acme/results/").content.decode()
    assert "/sso/oidc/" not in client.get("/accounts/login/?next=/o/globex/").content.decode()


def test_hr_sets_up_single_sign_on_and_the_audit_log_records_it_without_the_secret(login, tenant, other_tenant):
    client = login(tenant.hr)
    form = {
        "is_enabled": "on",
        "protocol": "oidc",
        "label": "Acme Okta",
        "email_domains": "acme.test, acme-corp.test",
        "oidc_issuer": "https://idp.acme.test/oauth2",
        "oidc_client_id": "pulse",
        "oidc_client_secret": "s3cret-value",
    }
    assert client.post("/o/acme/settings/sign-in/", form).status_code == 302
    page = client.get("/o/acme/settings/sign-in/").content.decode()
    assert "s3cret-value" not in page and "https://idp.acme.test/oauth2" in page
    assert client.post("/o/acme/settings/sign-in/", {**form, "oidc_client_secret": ""}).status_code == 302
    with organization_scope(tenant.org):
        provider = IdentityProvider.objects.get()
        assert provider.oidc_client_secret == "s3cret-value"  # kept when left empty
        assert provider.email_domains == "acme.test acme-corp.test"
        events = list(IdentityProviderEvent.objects.values())
    assert events and events[0]["pgh_label"] == "created"
    assert not any("s3cret" in str(event) for event in events)
    log = client.get("/o/acme/settings/audit-log/").content.decode()
    assert "Single sign-on" in log and "s3cret" not in log
    with organization_scope(other_tenant.org):
        assert not IdentityProvider.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"oidc_issuer": "http://idp.acme.test"}, "must start with https://"),
        ({"oidc_issuer": "not an address"}, "full address"),
        ({"oidc_client_id": ""}, "client ID"),
        ({"email_domains": "acme"}, "is not an e-mail domain"),
        ({"is_enabled": "", "required_for_managers": "on"}, "Turn single sign-on on before requiring it"),
        ({"required_for_managers": "on"}, "Sign in through your identity provider once before requiring it"),
    ],
)
def test_bad_settings_are_refused_clearly_and_change_nothing(login, tenant, change, message):
    client = login(tenant.hr)
    form = {
        "is_enabled": "on",
        "protocol": "oidc",
        "oidc_issuer": "https://idp.acme.test",
        "oidc_client_id": "pulse",
        "oidc_client_secret": "x",
        **change,
    }
    answer = client.post("/o/acme/settings/sign-in/", {key: value for key, value in form.items() if value})
    assert answer.status_code == 200
    assert message in answer.content.decode()
    with organization_scope(tenant.org):
        assert not IdentityProvider.objects.exists()


def test_only_hr_and_admins_reach_the_sign_in_settings(login, tenant, other_tenant):
    assert login(tenant.employee).get("/o/acme/settings/sign-in/").status_code == 403
    assert login(tenant.manager).get("/o/acme/settings/sign-in/").status_code == 403
    assert login(tenant.admin).get("/o/acme/settings/sign-in/").status_code == 200
    assert login(tenant.hr).get("/o/globex/settings/sign-in/").status_code == 404


def test_hr_requires_single_sign_on_only_after_signing_in_through_it(client, tenant, acme_sso):
    oidc_sign_in(client, acme_sso, slug="acme", email="hr@acme.test", password=IDP_PASSWORD)
    form = {
        "is_enabled": "on",
        "protocol": "oidc",
        "email_domains": "acme.test",
        "oidc_issuer": acme_sso.url,
        "oidc_client_id": acme_sso.client_id,
        "required_for_managers": "on",
    }
    assert client.post("/o/acme/settings/sign-in/", form).status_code == 302
    tenant.org.refresh_from_db()
    assert tenant.org.sso_required
    assert client.get("/o/acme/").status_code == 200  # the HR person's own session stays open


def test_single_sign_on_works_as_the_web_role_under_row_level_security(client, tenant, other_tenant, acme_sso, request):
    if connection.vendor != "postgresql":
        pytest.skip("row-level security needs PostgreSQL (DATABASE_URL)")
    request.getfixturevalue("app_role")
    found = client.post("/accounts/sso/", {"name_or_email": "someone@acme.test"})
    assert "/sso/oidc/acme/login/" in found.content.decode()
    answer = oidc_sign_in(client, acme_sso, slug="acme", email="hr@acme.test", password=IDP_PASSWORD)
    assert answer["Location"] == "/o/acme/"
    assert client.get("/o/acme/settings/sign-in/").status_code == 200
    client.logout()
    refused = oidc_sign_in(client, acme_sso, slug="acme", email="hr@globex.test", password=IDP_PASSWORD)
    assert refused.status_code == 403
