"""No surprises for HR, plans that get done, walked in a real browser at 1280 and 390 px: a merge,
a deactivation and an undo each previewed with the access they change; an API key revoked after
its preview; the roster import's safe defaults; an action plan with its owner, due date, reminder
and deletion. Every page these journeys open passes axe (no serious or critical finding), and on
a phone nothing is wider than the screen."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from surveys.models import ActionPlan, ApiKey, Membership, Role, TeamManagement
from tests.support.browser import AXE, accessibility_problems, assert_fits_screen, unlabelled_controls
from tests.support.factories import MembershipFactory, SurveyFactory, TeamFactory, make_manager
from tests.support.results_data import history

pytestmark = pytest.mark.usefixtures("question_bank")


@pytest.fixture(autouse=True)
def _axe_installed():
    if not AXE.exists():
        pytest.skip(f"axe-core not found at {AXE} (make install-dev installs it with npm)")


def seen(page, shot, name: str) -> None:
    """The page as it is now: no serious or critical axe finding, every control named, no
    sideways scrolling on a phone, and a screenshot to look at."""
    assert accessibility_problems(page) == [], page.url
    assert unlabelled_controls(page) == [], page.url
    if page.viewport_size["width"] < 500:
        assert_fits_screen(page)
    shot(page, name)


@pytest.fixture
def mobile_lead(tenant):
    """Mo leads Mobile, a team merged into Platform in the journey."""
    with tenant.scope():
        mobile = TeamFactory(parent=tenant.engineering, name="Mobile")
        lead = make_manager(MembershipFactory(organization=tenant.org, role=Role.MANAGER, team=mobile), mobile)
        MembershipFactory(organization=tenant.org, role=Role.EMPLOYEE, team=mobile)
    lead.user.name = "Mo Mobile"
    lead.user.save()
    return lead


@pytest.mark.parametrize("width", [1280, 390])
def test_hr_previews_a_merge_that_names_the_lead_who_would_gain_a_team_then_undoes_it(
    browser, live_server, shot, sign_in, tenant, mobile_lead, width
):
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 860})
    page = context.new_page()
    sign_in(page, tenant.hr)
    mobile = mobile_lead.team
    page.goto(f"/o/acme/people/teams/{mobile.pk}/")
    seen(page, shot, f"team-merge-form-{width}")
    page.get_by_label("Merge into").select_option(label="Acme/Engineering/Platform")
    page.get_by_label("Its leads also lead the team it merges into").check()
    page.get_by_role("button", name="Preview the merge").click()
    expect(
        page.get_by_role("heading", name="Merge Acme/Engineering/Mobile into Acme/Engineering/Platform?")
    ).to_be_visible()
    person = page.locator(".access-changes > li").filter(has_text="Mo Mobile")
    expect(person).to_contain_text("Would see the results of Acme/Engineering/Platform")
    expect(page.get_by_text("2 people and 0 teams moved, 1 lead added to Platform.", exact=False)).to_be_visible()
    seen(page, shot, f"team-merge-preview-{width}")
    with tenant.scope():
        assert not TeamManagement.objects.filter(membership=mobile_lead, team=tenant.platform).exists()
    page.get_by_role("button", name="Merge Mobile").click()
    expect(page.get_by_text("is merged into Acme/Engineering/Platform")).to_be_visible()
    with tenant.scope():
        assert TeamManagement.objects.filter(membership=mobile_lead, team=tenant.platform).exists()

    page.goto("/o/acme/people/history/")
    seen(page, shot, f"roster-history-undo-{width}")
    page.get_by_role("link", name=re.compile(r"^Undo… Merged Acme\/Engineering\/Mobile")).click()
    expect(page.get_by_role("heading", name="Undo this change?")).to_be_visible()
    expect(page.locator(".access-changes > li").filter(has_text="Mo Mobile")).to_contain_text(
        "Would no longer see the results of Acme/Engineering/Platform"
    )
    seen(page, shot, f"roster-undo-preview-{width}")
    page.get_by_role("button", name="Undo it").click()
    expect(page.get_by_text("Undone: the roster is as it was before that change.")).to_be_visible()
    with tenant.scope():
        assert not TeamManagement.objects.filter(membership=mobile_lead, team=tenant.platform).exists()
        assert Membership.objects.filter(team=mobile).count() == 2
    context.close()


def test_hr_deactivates_a_lead_on_a_phone_after_a_preview_and_a_refused_undo_says_why(
    phone, shot, sign_in, tenant, mobile_lead
):
    sign_in(phone, tenant.hr)
    phone.goto(f"/o/acme/people/{mobile_lead.pk}/")
    phone.get_by_role("link", name="Deactivate Mo…").click()
    expect(phone.get_by_role("heading", name="Deactivate Mo Mobile?")).to_be_visible()
    expect(phone.get_by_text("Deactivated: can no longer sign in to Acme and gets no more pulses.")).to_be_visible()
    expect(phone.get_by_text("Would no longer see the results of Acme/Engineering/Mobile.")).to_be_visible()
    seen(phone, shot, "person-deactivate-preview-phone")
    phone.get_by_role("button", name="Deactivate Mo").tap()
    expect(phone.get_by_text("Mo Mobile is deactivated")).to_be_visible()
    phone.goto(f"/o/acme/people/{mobile_lead.pk}/")
    phone.get_by_role("link", name="Reactivate Mo…").click()
    phone.get_by_role("button", name="Reactivate Mo").tap()
    expect(phone.get_by_text("Mo Mobile is active again.")).to_be_visible()
    phone.goto("/o/acme/people/history/")
    phone.get_by_role("link", name="Undo… Deactivated Mo Mobile").click()  # the reactivation came later
    expect(phone.get_by_role("heading", name="This change cannot be undone now")).to_be_visible()
    expect(phone.get_by_text("Undo that one first")).to_be_visible()
    seen(phone, shot, "roster-undo-refused-phone")


@pytest.mark.parametrize("width", [1280, 390])
def test_hr_revokes_a_key_after_seeing_what_it_cuts_off_and_is_offered_a_replacement(
    browser, live_server, shot, sign_in, tenant, width
):
    ApiKey.all_organizations.create_key(organization=tenant.org, name="Power BI", scope="write", created_by=tenant.hr)
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 860})
    page = context.new_page()
    sign_in(page, tenant.hr)
    page.goto("/o/acme/settings/api-keys/")
    page.get_by_role("link", name="Revoke… Power BI").click()
    expect(page.get_by_role("heading", name="Revoke the key “Power BI”?")).to_be_visible()
    expect(page.get_by_text("It cannot be undone.")).to_be_visible()
    seen(page, shot, f"api-key-revoke-preview-{width}")
    page.get_by_role("button", name="Revoke “Power BI”").click()
    expect(page.get_by_text("cannot be restored")).to_be_visible()
    page.get_by_role("link", name="Create a replacement for Power BI").click()
    expect(page.get_by_label("Name")).to_have_value("Power BI")
    expect(page.get_by_label("Read and write (roster imports)")).to_be_checked()
    seen(page, shot, f"api-key-replacement-{width}")
    assert ApiKey.all_organizations.get().revoked
    context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_import_page_adds_and_updates_by_default_and_starts_from_the_organisations_own_roster(
    browser, live_server, shot, sign_in, tenant, width
):
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 860})
    page = context.new_page()
    sign_in(page, tenant.hr)
    page.goto("/o/acme/people/import/")
    expect(page.get_by_role("radio", name=re.compile("Add and update"))).to_be_checked()
    seen(page, shot, f"roster-import-defaults-{width}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download your current roster (CSV)").click()
    exported = Path(download.value.path()).read_text()
    assert "employee@acme.test" in exported and "example.com" not in exported
    semicolons = exported.replace(",", ";").replace("Acme/Engineering/Platform;employee", "Acme/Sales;employee")
    page.get_by_label("Roster file (CSV)").set_input_files(
        files=[{"name": "acme-roster.csv", "mimeType": "text/csv", "buffer": semicolons.encode()}]
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("separated by semicolons: it was read that way")).to_be_visible()
    expect(page.get_by_text("People moved (1)")).to_be_visible()
    assert page.locator(".stat").nth(4).inner_text() == "0"  # nobody deactivated
    seen(page, shot, f"roster-import-semicolons-preview-{width}")
    context.close()


@pytest.fixture
def rounds_after_plan(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org, name="Team pulse")
        rounds = history(tenant, survey, rounds=4)
        plan = ActionPlan.objects.create(
            team=tenant.engineering, round=rounds[1], title="Protect Friday afternoons", owner=tenant.manager
        )
        ActionPlan.objects.filter(pk=plan.pk).update(created_at=rounds[1].closes_at)
    return rounds


@pytest.mark.parametrize("width", [1280, 390])
def test_a_manager_gives_a_plan_an_owner_and_a_due_date_sees_it_beside_later_rounds_and_deletes_one(
    browser, live_server, shot, sign_in, tenant, rounds_after_plan, width
):
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 860})
    page = context.new_page()
    sign_in(page, tenant.manager)
    page.goto(f"/o/acme/teams/{tenant.engineering.pk}/#action-plans")
    plans = page.locator("#action-plans")
    expect(plans.get_by_text("Since this plan")).to_be_visible()
    expect(plans.get_by_role("link", name="Team pulse, round 3")).to_be_visible()
    expect(plans.get_by_role("link", name="Team pulse, round 4")).to_be_visible()
    seen(page, shot, f"plans-beside-rounds-{width}")
    page.get_by_role("link", name="Add an action plan").click()
    page.get_by_label("Title").fill("One meeting-free day a week")
    page.get_by_label("Owner").select_option(label=f"{tenant.hr.user.get_full_name()} (hr)")
    page.get_by_label("Due date").fill("2099-06-30")
    seen(page, shot, f"action-plan-form-owner-{width}")
    page.get_by_role("button", name="Add plan").click()
    expect(page.get_by_text("Plan “One meeting-free day a week” added.")).to_be_visible()
    expect(page.get_by_text(f"Owner: {tenant.hr.user.get_full_name()}")).to_be_visible()
    seen(page, shot, f"team-dashboard-plans-{width}")
    page.get_by_role("link", name="Delete “One meeting-free day a week”").click()
    expect(page.get_by_role("heading", name="Delete “One meeting-free day a week”?")).to_be_visible()
    seen(page, shot, f"action-plan-delete-{width}")
    page.get_by_role("button", name="Delete the plan").click()
    expect(page.get_by_text("Plan “One meeting-free day a week” deleted.")).to_be_visible()
    assert not ActionPlan.all_organizations.filter(title="One meeting-free day a week").exists()
    context.close()
