"""SCIM as HR meets it in a browser: a token created on the settings page and used by an
identity provider (here urllib) against /scim/v2/, revoked after its preview; deactivations
held from SCIM decided on the People page. Screenshots at 1280 and 390 px."""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from surveys.models import Membership, ScimHeldDeactivation
from tests.support.browser import assert_fits_screen, unlabelled_controls
from tests.support.factories import MembershipFactory

pytestmark = pytest.mark.usefixtures("question_bank")


def _scim(url: str, secret: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {secret}"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_hr_creates_a_scim_token_an_identity_provider_uses_then_revokes_it(
    page, phone, shot, sign_in, tenant, live_server
):
    sign_in(page, tenant.hr)
    page.goto("/o/acme/settings/")
    expect(page.get_by_role("heading", name="SCIM provisioning")).to_be_visible()
    page.get_by_role("link", name="SCIM provisioning").first.click()
    assert page.get_by_text("No tokens yet").is_visible()
    assert unlabelled_controls(page) == []
    page.get_by_label("Name").fill("Okta")
    page.get_by_role("button", name="Create the token").click()
    expect(page.get_by_role("heading", name="Your new token “Okta”")).to_be_visible()
    secret = page.get_by_role("textbox", name="Token").input_value()
    base = page.get_by_role("textbox", name="SCIM base address (tenant URL)").input_value()
    shot(page, "scim-token-created")
    status, users = _scim(f"{base}Users?filter=userName%20eq%20%22employee@acme.test%22", secret)
    assert status == 200 and users["totalResults"] == 1
    page.reload()
    assert secret not in page.content()  # shown once
    page.get_by_role("link", name="Revoke… Okta").click()
    expect(page.get_by_role("heading", name="Revoke the token “Okta”?")).to_be_visible()
    shot(page, "scim-token-revoke")
    page.get_by_role("button", name="Revoke “Okta”").click()
    expect(page.get_by_text("is revoked")).to_be_visible()
    status, error = _scim(f"{base}Users", secret)
    assert status == 401 and error["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]

    sign_in(phone, tenant.hr)
    phone.goto("/o/acme/settings/scim/")
    assert_fits_screen(phone, "SCIM provisioning")
    shot(phone, "scim-tokens-phone")


def test_hr_decides_deactivations_held_from_scim(page, phone, shot, sign_in, tenant):
    with tenant.scope():
        people = [MembershipFactory(organization=tenant.org, team=tenant.product) for _ in range(3)]
        for person in people:
            ScimHeldDeactivation.objects.create(organization=tenant.org, membership=person)
    sign_in(page, tenant.hr)
    page.goto("/o/acme/people/")
    expect(page.get_by_role("heading", name="3 deactivations from your identity provider wait for you")).to_be_visible()
    shot(page, "scim-held-deactivations")
    page.get_by_role("button", name=f"Keep {people[0].user.get_full_name()}").click()
    expect(page.get_by_text("Kept 1 person active.")).to_be_visible()
    page.get_by_role("button", name="Deactivate all 2").click()
    expect(page.get_by_text("Deactivated 2 people.")).to_be_visible()
    with tenant.scope():
        assert [Membership.objects.get(pk=p.pk).is_active for p in people] == [True, False, False]
    sign_in(phone, tenant.hr)
    phone.goto("/o/acme/people/")
    assert_fits_screen(phone, "People")
