"""The API as HR meets it in a browser: a key created on the settings page and used as the
README says (the curl request, made here with urllib), and the documentation, served offline."""

import csv
import io
import urllib.request
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_fits_screen, unlabelled_controls
from tests.support.factories import SurveyFactory, TeamFactory
from tests.support.results_data import published_round, spread

pytestmark = pytest.mark.usefixtures("question_bank")


def test_hr_creates_a_key_and_pulls_the_results_csv(page, shot, sign_in, tenant, live_server):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org, name="Team pulse")
        sales = TeamFactory(parent=tenant.root, name="Sales")
        field = TeamFactory(parent=sales, name="Field")  # 3 people: hidden
        published_round(
            survey,
            {tenant.platform: spread(6, 4), tenant.product: spread(6, 2), sales: spread(7, 3), field: spread(3, 3)},
            number=1,
        )
    sign_in(page, tenant.hr)
    page.goto("/o/acme/settings/")
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
    assert page.get_by_text("No keys yet").is_visible()
    assert unlabelled_controls(page) == []
    page.get_by_label("Name").fill("Power BI")
    page.get_by_role("button", name="Create the key").click()
    expect(page.get_by_role("heading", name="Your new key “Power BI”")).to_be_visible()
    secret = page.get_by_role("textbox", name="Key").input_value()
    assert page.locator("pre.sample").inner_text().startswith(f'curl -H "Authorization: Api-Key {secret}"')
    shot(page, "api-key-created")

    request = urllib.request.Request(
        f"{live_server.url}/api/v1/results.csv", headers={"Authorization": f"Api-Key {secret}"}
    )
    with urllib.request.urlopen(request) as response:
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        rows = list(csv.DictReader(io.StringIO(response.read().decode())))
    teams = {row["team"]: row for row in rows if (row["measure_type"], row["measure"]) == ("construct", "autonomy")}
    assert teams["Acme/Engineering/Platform"]["shown"] == "yes"
    assert teams["Acme/Sales/Field"]["reason"] == "group_hidden"
    assert teams["Acme/Sales/Field"]["index"] == ""

    page.reload()  # shown once: gone now, the key listed with its last use
    expect(page.get_by_role("heading", name="Keys", exact=True)).to_be_visible()
    assert page.get_by_role("textbox", name="Key").count() == 0
    row = page.get_by_role("row", name="Power BI")
    assert row.get_by_text("Read only").is_visible() and row.get_by_text("Never").count() == 1
    shot(page, "api-keys-listed")
    row.get_by_role("link", name="Revoke… Power BI").click()
    expect(page.get_by_role("heading", name="Revoke the key “Power BI”?")).to_be_visible()
    shot(page, "api-key-revoke-preview")
    page.get_by_role("button", name="Revoke “Power BI”").click()
    expect(page.get_by_role("row", name="Power BI").get_by_text("Revoked")).to_be_visible()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 401


def test_the_documentation_renders_with_no_outside_request(page, shot, sign_in, tenant, live_server):
    outside = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if urlparse(r.url).netloc != urlparse(live_server.url).netloc else None,
    )
    sign_in(page, tenant.hr)
    page.goto("/api/v1/docs/")
    expect(page.get_by_text("Results as CSV (streamed)")).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    assert page.get_by_role("button", name="Sign out hr@acme.test").is_visible()  # the site's own header
    assert outside == []
    assert_fits_screen(page)
    shot(page, "api-docs")
    page.get_by_text("Results as CSV (streamed)").click()
    expect(page.get_by_text("Try it out")).to_be_visible()
    shot(page, "api-docs-operation")
