"""Single sign-on in the browser, through a real OpenID Connect provider (django-oauth-toolkit's,
in its own process): an HR person and a manager of an organisation that requires it sign in
through it; someone the provider knows but the roster does not is refused; an organisation that
requires single sign-on and two-step sign-in."""

import pytest

from surveys.services.identity import identity_provider_save
from tests.support.browser import accessibility_problems, assert_fits_screen
from tests.support.identity_providers import oidc_provider
from tests.support.oidc_idp import IDP_PASSWORD
from tests.test_mfa import code_now

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def provider(live_server, tenant, other_tenant):
    outsider = "stranger@acme.test"
    redirect = f"{live_server.url}/sso/oidc/acme/login/callback/"
    emails = [tenant.hr.user.email, tenant.manager.user.email, outsider, other_tenant.hr.user.email]
    with oidc_provider(redirect_uri=redirect, emails=emails) as running:
        identity_provider_save(
            organization=tenant.org,
            protocol="oidc",
            is_enabled=True,
            label="Acme Test IdP",
            email_domains="acme.test",
            oidc_issuer=running.url,
            oidc_client_id=running.client_id,
            oidc_client_secret=running.client_secret,
            required_for_managers=True,
            signed_in_through_it=True,
        )
        yield running


def _through_the_provider(page, email: str) -> None:
    page.get_by_label("Username").fill(email)
    page.get_by_label("Password").fill(IDP_PASSWORD)
    page.get_by_role("button", name="Sign in at the provider").click()
    page.wait_for_load_state("networkidle")


def test_hr_signs_in_through_the_organisations_provider(page, provider, tenant, shot):
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Sign in with your organisation").click()
    page.get_by_label("Your work e-mail address").fill(tenant.hr.user.email)
    page.get_by_role("button", name="Find my organisation").click()
    shot(page, "sso-find-found-1280")
    assert not accessibility_problems(page)
    page.get_by_role("button", name="Sign in with Acme Test IdP (Acme)").click()
    assert page.url.startswith(provider.url.removesuffix("/o"))  # at the provider's own page
    _through_the_provider(page, tenant.hr.user.email)
    assert page.url.endswith("/o/acme/"), page.url
    page.goto("/o/acme/settings/sign-in/")
    assert page.get_by_label("Issuer").input_value() == provider.url
    assert page.get_by_label("Client secret").input_value() == ""  # never shown back
    shot(page, "sso-settings-1280")
    assert not accessibility_problems(page)


def test_a_manager_whose_password_is_refused_goes_through_the_provider(page, provider, tenant, sign_in):
    sign_in(page, tenant.manager)
    assert "asks managers, HR and admins to sign in through its identity provider" in page.content()
    assert "/accounts/login/" in page.url
    page.get_by_role("button", name="Sign in with Acme Test IdP (Acme)").click()
    _through_the_provider(page, tenant.manager.user.email)
    assert page.url.endswith("/o/acme/"), page.url
    assert page.get_by_role("heading", level=1).count()


def test_someone_the_provider_knows_but_the_roster_does_not_is_refused(page, phone, provider, other_tenant, shot):
    for who, viewport in ((other_tenant.hr.user.email, "1280"), ("stranger@acme.test", "390")):
        browser_page = page if viewport == "1280" else phone
        browser_page.goto("/accounts/sso/")
        browser_page.get_by_label("Your work e-mail address").fill("anyone@acme.test")
        browser_page.get_by_role("button", name="Find my organisation").click()
        browser_page.get_by_role("button", name="Sign in with Acme Test IdP (Acme)").click()
        _through_the_provider(browser_page, who)
        assert "is not on Acme's roster in Pulse" in browser_page.content()
        assert "/o/" not in browser_page.url
        shot(browser_page, f"sso-refused-{viewport}")
        assert_fits_screen(browser_page)
        assert not accessibility_problems(browser_page)
        browser_page.goto("/o/globex/")
        assert "/accounts/login/" in browser_page.url  # not signed in anywhere


def test_an_organisation_requiring_single_sign_on_and_two_step_sign_in(page, phone, provider, tenant, shot):
    """HR sets up an authenticator app when the organisation asks, then signs in through the
    provider and gives a code before any page."""
    tenant.org.mfa_required = True
    tenant.org.save()
    page.goto("/accounts/sso/")
    page.get_by_label("Your work e-mail address").fill(tenant.hr.user.email)
    page.get_by_role("button", name="Find my organisation").click()
    page.get_by_role("button", name="Sign in with Acme Test IdP (Acme)").click()
    _through_the_provider(page, tenant.hr.user.email)
    assert "/accounts/mfa/setup/" in page.url  # the organisation asks HR for a second factor first
    shot(page, "mfa-setup-1280")
    assert not accessibility_problems(page)
    page.get_by_label("Code").fill(code_now(tenant.hr.user, confirmed=False))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    assert page.get_by_role("heading", name="Your recovery codes").is_visible()
    assert len(page.locator(".recovery-codes li").all()) == 10
    shot(page, "mfa-recovery-codes-1280")
    page.get_by_role("link", name="I have kept them").click()
    assert page.url.endswith("/o/acme/"), page.url
    page.get_by_role("button", name="Sign out").click()

    phone.goto("/o/acme/people/")
    phone.get_by_role("button", name="Sign in with Acme Test IdP (Acme)").click()  # offered for the page asked
    _through_the_provider(phone, tenant.hr.user.email)
    assert "/accounts/mfa/" in phone.url
    shot(phone, "mfa-challenge-390")
    assert_fits_screen(phone)
    assert not accessibility_problems(phone)
    phone.get_by_label("Code").fill(code_now(tenant.hr.user))
    phone.get_by_role("button", name="Continue").click()
    assert phone.url.endswith("/o/acme/people/"), phone.url
