"""Two-step sign-in (docs/architecture.md, "Signing in"): an authenticator app's codes and
recovery codes, asked after every sign-in of a person who has them, required of HR and admins by
an organisation that chooses to, and after a sign-in through the organisation's provider too."""

import time

import pytest
from django.db import connection
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from surveys.core.exceptions import PulseError
from surveys.core.tenancy import organization_scope, person_scope_begin, person_scope_end
from surveys.models import OrganizationEvent
from surveys.services.identity import identity_provider_save
from surveys.services.mfa import mfa_enrolment_begin, mfa_enrolment_confirm, mfa_remove
from tests.support.factories import PASSWORD
from tests.support.identity_providers import oidc_provider, oidc_sign_in
from tests.support.oidc_idp import IDP_PASSWORD
from tests.test_row_level_security import app_role, roles  # noqa: F401 (fixtures)


def code_now(user, *, confirmed: bool = True) -> str:
    """The app's code now, or the next one if now's was spent (a code works once: django-otp
    refuses a time step it has accepted before, and accepts the next within its tolerance)."""
    token = person_scope_begin(user.pk)  # the device is its person's alone (row-level security)
    try:
        device = TOTPDevice.objects.get(user=user, confirmed=confirmed)
    finally:
        person_scope_end(token)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if device.last_t is not None and totp.t() <= device.last_t:
        totp.time = time.time() + device.step
    return f"{totp.token():06d}"


def enrolled(user) -> list[str]:
    mfa_enrolment_begin(user=user)
    _, codes = mfa_enrolment_confirm(user=user, code=code_now(user, confirmed=False))
    return codes


def _password_sign_in(client, membership):
    return client.post("/accounts/login/", {"username": membership.user.email, "password": PASSWORD})


def test_a_person_sets_up_an_authenticator_app_and_gets_recovery_codes(login, tenant, other_tenant):
    client = login(tenant.hr)
    page = client.get("/accounts/mfa/setup/").content.decode()
    assert "data:image/svg+xml;base64," in page and "Turn on two-step sign-in" in page
    wrong = client.post("/accounts/mfa/setup/", {"action": "confirm", "code": "000000"})
    assert "That code is not right" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=tenant.hr.user, confirmed=True).exists()
    done = client.post("/accounts/mfa/setup/", {"action": "confirm", "code": code_now(tenant.hr.user, confirmed=False)})
    assert done.status_code == 200
    assert len(done.context["codes"]) == 10
    assert TOTPDevice.objects.filter(user=tenant.hr.user, confirmed=True).exists()
    assert client.get("/o/acme/").status_code == 200  # this session gave its code by setting it up


def test_every_sign_in_of_a_person_with_a_second_factor_asks_for_a_code_before_any_page(client, tenant):
    enrolled(tenant.hr.user)
    assert _password_sign_in(client, tenant.hr).status_code == 302
    for page in ("/o/acme/", "/o/acme/people/", "/"):
        answer = client.get(page)
        assert answer.status_code == 302 and answer["Location"].startswith("/accounts/mfa/?next="), page
    wrong = client.post("/accounts/mfa/?next=/o/acme/people/", {"code": "123456", "next": "/o/acme/people/"})
    assert wrong.status_code == 400 and "That code is not right" in wrong.content.decode()
    time.sleep(1.1)  # a wrong code makes the next attempt wait a second (django-otp's throttling)
    right = client.post("/accounts/mfa/", {"code": code_now(tenant.hr.user), "next": "/o/acme/people/"})
    assert right.status_code == 302 and right["Location"] == "/o/acme/people/"
    assert client.get("/o/acme/people/").status_code == 200


def test_a_recovery_code_works_once(client, tenant):
    codes = enrolled(tenant.hr.user)
    _password_sign_in(client, tenant.hr)
    assert client.post("/accounts/mfa/", {"code": codes[0].upper(), "next": "/o/acme/"})["Location"] == "/o/acme/"
    client.logout()
    _password_sign_in(client, tenant.hr)
    assert client.post("/accounts/mfa/", {"code": codes[0], "next": "/o/acme/"}).status_code == 400
    assert client.get("/o/acme/").status_code == 302


def test_wrong_codes_in_a_row_make_the_next_attempt_wait(client, tenant):
    enrolled(tenant.hr.user)
    _password_sign_in(client, tenant.hr)
    answers = [client.post("/accounts/mfa/", {"code": "000000"}) for _ in range(3)]
    assert answers[-1].status_code == 429
    assert "Too many wrong codes in a row: wait" in answers[-1].content.decode()
    assert "Too many wrong codes" in client.post("/accounts/mfa/", {"code": code_now(tenant.hr.user)}).content.decode()


def test_an_organisation_that_requires_it_sends_its_hr_to_set_it_up_first(login, tenant, other_tenant):
    tenant.org.mfa_required = True
    tenant.org.save()
    for membership in (tenant.hr, tenant.admin):
        answer = login(membership).get("/o/acme/people/")
        assert answer.status_code == 302 and answer["Location"].startswith("/accounts/mfa/setup/?next=")
    assert login(tenant.manager).get("/o/acme/").status_code == 200  # managers and employees: their choice
    assert login(tenant.employee).get("/o/acme/").status_code == 200
    assert login(other_tenant.hr).get("/o/globex/people/").status_code == 200  # another organisation's choice
    with pytest.raises(PulseError):
        enrolled(tenant.hr.user)
        mfa_remove(user=tenant.hr.user)


def test_hr_requires_it_only_with_their_own_second_factor_and_the_audit_log_records_it(login, tenant, other_tenant):
    client = login(tenant.hr)
    refused = client.post("/o/acme/settings/sign-in/two-step/", {"mfa_required": "on"}, follow=True)
    assert "Set up your own second factor first" in refused.content.decode()
    tenant.org.refresh_from_db()
    assert not tenant.org.mfa_required
    client.post("/accounts/mfa/setup/")  # the enrolment begins
    client.post("/accounts/mfa/setup/", {"action": "confirm", "code": code_now(tenant.hr.user, confirmed=False)})
    assert client.post("/o/acme/settings/sign-in/two-step/", {"mfa_required": "on"}).status_code == 302
    tenant.org.refresh_from_db()
    assert tenant.org.mfa_required
    with organization_scope(tenant.org):
        assert OrganizationEvent.objects.filter(mfa_required=True).exists()
    other_tenant.org.refresh_from_db()
    assert not other_tenant.org.mfa_required
    assert login(tenant.manager).post("/o/acme/settings/sign-in/two-step/", {"mfa_required": "on"}).status_code == 403
    assert login(tenant.hr).post("/o/globex/settings/sign-in/two-step/", {"mfa_required": "on"}).status_code == 404


def test_the_answering_link_never_asks_for_a_code(client, tenant):
    enrolled(tenant.employee.user)
    _password_sign_in(client, tenant.employee)
    answer = client.get("/answer/acme/not-a-real-token/")
    assert answer.status_code != 302 or "/accounts/mfa/" not in answer.get("Location", "")


def test_a_sign_in_through_the_organisations_provider_asks_for_the_code_too(client, tenant, other_tenant):
    enrolled(tenant.hr.user)
    with oidc_provider(redirect_uri="http://testserver/sso/oidc/acme/login/callback/", emails=["hr@acme.test"]) as idp:
        identity_provider_save(
            organization=tenant.org,
            protocol="oidc",
            is_enabled=True,
            label="Acme IdP",
            email_domains="acme.test",
            oidc_issuer=idp.url,
            oidc_client_id=idp.client_id,
            oidc_client_secret=idp.client_secret,
            required_for_managers=True,
            signed_in_through_it=True,
        )
        tenant.org.mfa_required = True
        tenant.org.save()
        assert (
            oidc_sign_in(client, idp, slug="acme", email="hr@acme.test", password=IDP_PASSWORD)["Location"]
            == "/o/acme/"
        )
    assert client.get("/o/acme/")["Location"].startswith("/accounts/mfa/?next=")
    assert (
        client.post("/accounts/mfa/", {"code": code_now(tenant.hr.user), "next": "/o/acme/"})["Location"] == "/o/acme/"
    )
    assert client.get("/o/acme/").status_code == 200


def test_two_step_sign_in_works_as_the_web_role_and_shows_no_one_elses_factor(client, tenant, other_tenant, request):
    if connection.vendor != "postgresql":
        pytest.skip("row-level security needs PostgreSQL (DATABASE_URL)")
    enrolled(other_tenant.hr.user)
    request.getfixturevalue("app_role")
    _password_sign_in(client, tenant.hr)
    client.get("/accounts/mfa/setup/")
    answer = client.post(
        "/accounts/mfa/setup/", {"action": "confirm", "code": code_now(tenant.hr.user, confirmed=False)}
    )
    assert answer.status_code == 200 and len(answer.context["codes"]) == 10
    client.logout()
    _password_sign_in(client, tenant.hr)
    given = client.post("/accounts/mfa/", {"code": answer.context["codes"][0], "next": "/o/acme/"})
    assert given["Location"] == "/o/acme/"
    with connection.cursor() as cursor:  # this request's person sees their own devices only
        cursor.execute("SELECT count(*) FROM otp_totp_totpdevice")
        assert cursor.fetchone()[0] == 0  # no person in scope outside a request


def test_an_operator_resets_a_lost_second_factor(client, tenant, other_tenant):
    from io import StringIO

    from django.core.management import CommandError, call_command

    enrolled(tenant.hr.user)
    enrolled(other_tenant.hr.user)
    out = StringIO()
    call_command("mfa_reset", "HR@acme.test", stdout=out)
    assert "Removed 1" in out.getvalue()
    assert not TOTPDevice.objects.filter(user=tenant.hr.user).exists()
    assert TOTPDevice.objects.filter(user=other_tenant.hr.user).exists()
    assert _password_sign_in(client, tenant.hr).status_code == 302
    assert client.get("/o/acme/").status_code == 200  # no code asked any more
    with pytest.raises(CommandError):
        call_command("mfa_reset", "nobody@acme.test")
