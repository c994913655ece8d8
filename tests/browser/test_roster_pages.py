"""The People pages and the roster import in a real browser, on a desktop and on a phone."""

from playwright.sync_api import expect

from surveys.models import Membership, RosterImport, RosterImportStatus
from tests.support.browser import assert_fits_screen, unlabelled_controls
from tests.support.factories import MembershipFactory, OrganizationFactory

GOOD = (
    "email,name,team,role,manages,staff id\n"
    "hr@acme.test,Hana Hall,Acme,hr,Acme,1\n"
    "admin@acme.test,Ada Admin,Acme,admin,,2\n"
    "lead@acme.test,Lee Lead,Acme/Engineering,manager,Acme/Engineering;Acme/Engineering/Platform,3\n"
    "dev@acme.test,Devi Rao,Acme/Engineering/Platform,employee,,4\n"
    "sam@acme.test,Sam Stone,Acme/Engineering/Platform,employee,,5\n"
    "nia@acme.test,Nia Noor,Acme/Sales/North,manager,Acme/Sales/North,6\n"
    "oli@acme.test,Oli Olsen,Acme/Sales/North,employee,,7\n"
)
BAD = (
    "email,name,team,role,manages\n"
    "hr@acme.test,Hana Hall,Acme,hr,\n"
    "dev@acme,Devi Rao,Acme/Engineering//Platform,employee,\n"
    "sam@acme.test,Sam Stone,Acme/Engineering,boss,\n"
    "HR@acme.test,Hana Again,Acme,hr,\n"
    "nia@acme.test,,Acme/Sales/Acme,manager,Acme/Marketing\n"
)


def _upload(page, content: str, name: str = "roster.csv"):
    page.get_by_role("link", name="People", exact=True).click()
    page.get_by_role("link", name="Import roster").click()
    assert unlabelled_controls(page) == []
    page.get_by_label("Roster file (CSV)").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content.encode()}]
    )
    page.get_by_role("button", name="Check and import").click()
    page.wait_for_load_state("networkidle")


def test_an_upload_with_errors_shows_every_problem_and_imports_nothing(page, shot, sign_in, tenant, other_tenant):
    before = Membership.all_organizations.count()
    sign_in(page, tenant.hr)
    _upload(page, BAD, name="broken-roster.csv")
    assert page.get_by_role("alert").filter(has_text="Nothing was imported.").is_visible()
    rows = page.locator("table.problems tbody tr")
    assert rows.count() == 7
    assert rows.first.inner_text().split("\t")[0] == "3"
    assert page.get_by_text("hr@acme.test is already on line 2").is_visible()
    assert Membership.all_organizations.count() == before
    shot(page, "roster-import-errors")


def test_a_good_upload_shows_the_summary_then_the_people_page(page, shot, sign_in, tenant, other_tenant):
    sign_in(page, tenant.hr)
    _upload(page, GOOD)
    assert page.get_by_role("status").filter(has_text="The roster is imported.").is_visible()
    assert page.get_by_text("These columns were ignored: staff id.").is_visible()
    shot(page, "roster-import-summary")
    page.get_by_role("link", name="See people and teams").click()
    assert page.get_by_role("heading", name="People", exact=True).is_visible()
    assert page.locator("table.team-tree tbody tr").count() == 6
    assert page.locator("table.team-tree").get_by_role("row", name="North").get_by_text("Nia Noor").is_visible()
    assert unlabelled_controls(page) == []
    shot(page, "people")
    page.locator("table.team-tree").get_by_role("link", name="North").click()
    assert page.get_by_label("Search").input_value() == "Acme/Sales/North"
    assert page.locator("table.people tbody tr").count() == 2
    page.get_by_label("Search").fill("devi")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.people tbody tr").first).to_contain_text("Devi Rao")
    page.get_by_label("Search").fill("north")
    page.get_by_label("Show").select_option("inactive")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_text("No one matches this search.").is_visible()
    page.get_by_role("link", name="Import roster").click()
    assert page.get_by_role("row", name="roster.csv").get_by_text("Imported").is_visible()
    shot(page, "roster-import-page")


def test_the_progress_page_follows_a_background_import_to_its_report(page, shot, sign_in, tenant):
    running = RosterImport.all_organizations.create(
        organization=tenant.org,
        uploaded_by=tenant.hr,
        filename="everyone.csv",
        content=b"",
        status=RosterImportStatus.VALIDATING,
        total_rows=40_000,
        processed_rows=12_000,
    )
    sign_in(page, tenant.hr)
    page.goto(f"/o/acme/people/import/{running.pk}/")
    assert page.get_by_text("Checked 12,000 of 40,000 rows").is_visible()
    shot(page, "roster-import-progress")
    RosterImport.all_organizations.filter(pk=running.pk).update(processed_rows=31_000)
    page.get_by_text("Checked 31,000 of 40,000 rows").wait_for()
    RosterImport.all_organizations.filter(pk=running.pk).update(status=RosterImportStatus.IMPORTING)
    page.get_by_text("All 40,000 rows are fine. Saving…").wait_for()
    summary = {"rows": 40_000, "people_created": 40_000, "people_unchanged": 0, "teams_created": 120, "notes": []}
    RosterImport.all_organizations.filter(pk=running.pk).update(status=RosterImportStatus.DONE, summary=summary)
    page.get_by_text("The roster is imported.").wait_for()
    assert page.locator(".stat").first.inner_text() == "40,000"


def test_people_and_the_error_report_on_a_phone(phone, shot, sign_in, tenant, other_tenant):
    sign_in(phone, tenant.hr)
    phone.goto("/o/acme/people/")
    assert_fits_screen(phone)
    shot(phone, "people-phone")
    phone.goto("/o/acme/people/import/")
    assert_fits_screen(phone)
    phone.get_by_label("Roster file (CSV)").set_input_files(
        files=[{"name": "broken-roster.csv", "mimeType": "text/csv", "buffer": BAD.encode()}]
    )
    phone.get_by_role("button", name="Check and import").click()
    phone.get_by_text("Nothing was imported.").wait_for()
    assert_fits_screen(phone)
    shot(phone, "roster-import-errors-phone")


def test_a_new_organisation_is_invited_to_import_its_roster(page, shot, sign_in, db):
    org = OrganizationFactory(slug="fresh", name="Fresh Start")
    hr = MembershipFactory(organization=org, role="hr", user__email="hr@fresh.test")
    sign_in(page, hr)
    page.get_by_role("link", name="People", exact=True).click()
    assert page.get_by_text("Import your roster to get started").is_visible()
    shot(page, "people-empty")
