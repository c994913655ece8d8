"""The People pages and the roster import in a real browser, on a desktop and on a phone."""

import re
from pathlib import Path

from django.core import mail
from playwright.sync_api import expect

from surveys.models import Membership, RosterImport, RosterImportStatus, Team, TeamManagement
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


def _upload(page, content: str, name: str = "roster.csv", full_sync: bool = False):
    page.get_by_role("link", name="People", exact=True).click()
    page.get_by_role("link", name="Import roster").click()
    assert unlabelled_controls(page) == []
    page.get_by_label("Roster file (CSV)").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content.encode()}]
    )
    if full_sync:  # add and update is the default: a full sync is chosen on purpose
        page.get_by_role("radio", name=re.compile("Full sync")).check()
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_load_state("networkidle")


def roster_state() -> tuple:
    """Everyone's team, role and activity, and every lead: what an import could change."""
    people = sorted(
        Membership.all_organizations.values_list("user__email", "user__name", "team__path", "role", "is_active")
    )
    return people, sorted(TeamManagement.all_organizations.values_list("membership__user__email", "team__path"))


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


def test_hr_previews_and_confirms_an_import_and_a_new_manager_activates_from_the_email(
    page, phone, shot, sign_in, tenant, other_tenant, settings, live_server
):
    settings.PULSE_BASE_URL = live_server.url
    sign_in(page, tenant.hr)
    before = roster_state()
    _upload(page, GOOD, full_sync=True)
    expect(page.get_by_role("status").filter(has_text="Nothing has changed yet.")).to_be_visible()
    assert page.get_by_text("These columns will be ignored: staff id.").is_visible()
    page.get_by_text("People deactivated (2)").click()  # open the list
    assert page.get_by_role("cell", name="employee@acme.test").is_visible()
    assert unlabelled_controls(page) == []
    shot(page, "roster-import-preview")
    assert roster_state() == before and mail.outbox == []
    page.get_by_role("button", name="Confirm and import").click()
    expect(page.get_by_text("Tick the box to confirm")).to_be_visible()  # 2 of 4 leave
    assert roster_state() == before
    page.get_by_label(re.compile("Yes, deactivate")).check()
    page.get_by_role("button", name="Confirm and import").click()
    expect(page.get_by_role("status").filter(has_text="The roster is imported.")).to_be_visible()
    shot(page, "roster-import-summary")
    page.get_by_role("link", name="See people and teams").click()
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()
    assert page.locator("table.team-tree tbody tr").count() == 6
    assert page.locator("table.team-tree").get_by_role("row", name="North").get_by_text("Nia Noor").is_visible()
    shot(page, "people")

    # The new manager (and the other new lead) got a set-up link; Lee opens it on a phone.
    invited = sorted(message.to[0] for message in mail.outbox)
    assert invited == ["lead@acme.test", "nia@acme.test"]
    message = next(m for m in mail.outbox if m.to == ["lead@acme.test"])
    link = re.search(r"https?://\S+/accounts/activate/\S+/", message.body)[0]
    phone.goto(link)
    expect(phone.get_by_role("heading", name="Set up your account")).to_be_visible()
    assert_fits_screen(phone)
    shot(phone, "account-activate-phone")
    phone.get_by_label("New password", exact=True).fill("a long and unusual passphrase 42")
    phone.get_by_label("New password confirmation").fill("a long and unusual passphrase 42")
    phone.get_by_role("button", name="Save and sign in").tap()
    expect(phone).to_have_url(re.compile(r"/o/acme/$"))  # signed in, at home
    engineering = Team.all_organizations.get(path="Acme/Engineering")
    phone.goto(f"/o/acme/teams/{engineering.pk}/")
    expect(phone.get_by_role("heading", name="Engineering", exact=True)).to_be_visible()
    shot(phone, "new-manager-dashboard-phone")
    phone.goto(link)  # once only
    expect(phone.get_by_role("heading", name="This link has expired or was used")).to_be_visible()


def test_the_example_csv_previews_and_changes_nothing_until_confirmed(page, shot, sign_in, tenant, tmp_path):
    # A new organisation: nobody but its first HR person is active yet, so the file to start from
    # is an example on its own tree (with people, it is the roster as it stands).
    Membership.all_organizations.filter(organization=tenant.org).exclude(pk=tenant.hr.pk).update(is_active=False)
    sign_in(page, tenant.hr)
    before = roster_state()
    page.get_by_role("link", name="People", exact=True).click()
    page.get_by_role("link", name="Import roster").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download an example CSV").click()
    example = Path(download.value.path()).read_text()
    assert example.splitlines()[1].split(",")[2].startswith("Acme")  # the organisation's own tree
    _upload(page, example, name="pulse-roster-example.csv")
    expect(page.get_by_role("status").filter(has_text="Nothing has changed yet.")).to_be_visible()
    shot(page, "roster-example-preview")
    assert roster_state() == before
    page.get_by_role("button", name="Cancel: change nothing").click()
    expect(page.get_by_text("Import cancelled: nothing was changed")).to_be_visible()
    assert roster_state() == before


def test_export_then_reimport_changes_nothing(page, shot, sign_in, tenant):
    sign_in(page, tenant.hr)
    page.get_by_role("link", name="People", exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export roster (CSV)").click()
    exported = Path(download.value.path()).read_text()
    before = roster_state()
    _upload(page, exported, name="acme-roster.csv")
    expect(page.get_by_role("status").filter(has_text="This file changes nothing.")).to_be_visible()
    assert page.get_by_role("button", name="Confirm and import").count() == 0
    shot(page, "roster-export-reimport")
    assert roster_state() == before


def test_hr_edits_a_person_and_sees_the_history(page, shot, sign_in, tenant):
    sign_in(page, tenant.hr)
    page.goto(f"/o/acme/people/{tenant.employee.pk}/")
    assert unlabelled_controls(page) == []
    page.get_by_label("Team", exact=True).select_option(label="Acme/Engineering/Product")
    page.get_by_role("button", name=re.compile("^Save")).click()
    expect(page.get_by_text(re.compile("^Saved"))).to_be_visible()
    shot(page, "person-edit")
    page.goto("/o/acme/people/history/")
    expect(
        page.get_by_role("cell", name="team Acme/Engineering/Platform → Acme/Engineering/Product").first
    ).to_be_visible()
    shot(page, "roster-history")


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
    page.get_by_text("Confirmed: saving 40,000 rows…").wait_for()
    summary = {"rows": 40_000, "people_added": 40_000, "people_unchanged": 0, "teams_created": 120, "notes": []}
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
    phone.get_by_role("button", name="Check the file").click()
    phone.get_by_text("Nothing was imported.").wait_for()
    assert_fits_screen(phone)
    shot(phone, "roster-import-errors-phone")


def test_a_new_organisation_is_invited_to_import_its_roster(page, shot, sign_in, db):
    org = OrganizationFactory(slug="fresh", name="Fresh Start")
    hr = MembershipFactory(organization=org, role="hr", user__email="hr@fresh.test")
    sign_in(page, hr)
    page.get_by_role("link", name="People", exact=True).click()
    expect(page.get_by_text("Import your roster to get started")).to_be_visible()
    shot(page, "people-empty")
