"""HR's roster pages: the upload and its preview, confirmation and report, people and teams one
at a time, the export, the history with undo."""

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from benchmarks.roster_import import roster_sample_csv
from surveys.core.tenancy import organization_scope
from surveys.models import (
    Membership,
    RosterChange,
    RosterChangeKind,
    RosterImport,
    RosterImportStatus,
    Team,
    TeamManagement,
)
from tests.support.roster import ACME, HEADER, apply, counts, leads, people, roster


def upload(client, content: bytes, name: str = "roster.csv", mode: str = "sync"):
    return client.post("/o/acme/people/import/", {"file": SimpleUploadedFile(name, content, "text/csv"), "mode": mode})


CONFIRM = re.compile(r'name="confirm" value="([0-9a-f]+)"')


def words(page: str) -> str:
    """A page's text as a reader gets it: no tags, one space between words."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split()).replace(" .", ".")


def confirmed(client, url: str, data: dict | None = None):
    """POST `data` to `url`; when the answer is a preview to confirm, confirm exactly it."""
    data = data or {}
    response = client.post(url, data)
    if response.status_code == 200 and CONFIRM.search(response.content.decode()):
        response = client.post(url, {**data, "confirm": CONFIRM.search(response.content.decode())[1]})
    return response


# Upload, preview, confirm ------------------------------------------------------------------------


def test_hr_uploads_sees_the_preview_and_nothing_changes_until_confirmed(tenant, other_tenant, login):
    client = login(tenant.hr)
    before = counts()
    response = upload(client, roster(*ACME))
    imported = RosterImport.all_organizations.get()
    assert response.status_code == 302 and response["Location"] == f"/o/acme/people/import/{imported.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Nothing has changed yet." in page and "What would change" in page
    assert "People deactivated (2)" in page and "employee@acme.test" in page
    assert "This deactivates 2 of 4 active people (50%)." in page
    assert counts() == before
    refused = client.post(response["Location"], {})
    assert refused.status_code == 200 and "Tick the box" in refused.content.decode()
    assert counts() == before
    done = client.post(response["Location"], {"large_deactivation_ok": "on"})
    assert done.status_code == 302
    report = client.get(response["Location"]).content.decode()
    assert "The roster is imported." in report and "people added" in report
    assert people(tenant)["new@acme.test"][3] is True
    listing = client.get("/o/acme/people/import/").content.decode()
    assert "roster.csv" in listing and "Imported" in listing


def test_a_file_that_changes_nothing_says_so_and_offers_no_confirmation(tenant, login):
    apply(tenant, roster(*ACME), importer=tenant.hr)
    client = login(tenant.hr)
    response = upload(client, roster(*ACME))
    page = client.get(response["Location"]).content.decode()
    assert "This file changes nothing." in page and "Confirm and import" not in page


def test_add_and_update_is_the_mode_chosen_unless_hr_chooses_a_full_sync(tenant, login):
    client = login(tenant.hr)
    page = client.get("/o/acme/people/import/").content.decode()
    assert re.search(r'<input type="radio" name="mode" value="add"[^>]* checked', page)
    assert not re.search(r'<input type="radio" name="mode" value="sync"[^>]* checked', page)
    assert page.index("Add and update: people not in the file stay as they are") < page.index("Full sync")
    response = upload(client, roster("new@acme.test,New Person,Acme/Sales,employee,"), mode="add")
    client.post(response["Location"], {})
    assert people(tenant)["new@acme.test"][3] is True and people(tenant)["employee@acme.test"][3] is True


def test_cancelling_a_preview_changes_nothing(tenant, login):
    client = login(tenant.hr)
    before = counts()
    response = upload(client, roster(*ACME))
    cancelled = client.post(response["Location"] + "cancel/", follow=True)
    assert "Import cancelled: nothing was changed" in cancelled.content.decode()
    assert counts() == before
    assert RosterImport.all_organizations.get().status == RosterImportStatus.CANCELLED


def test_an_upload_with_errors_shows_every_problem_and_keeps_nothing(tenant, login):
    client = login(tenant.admin)
    before = counts()
    response = upload(client, roster(*ACME, "bad,Bad,Acme//X,boss,"), name="broken.csv")
    page = client.get(response["Location"]).content.decode()
    assert "Nothing was imported." in page and "We found 3 problems" in page
    assert "“bad” is not a valid email address." in page and "“boss” is not a role" in page
    assert '<td class="num" data-label="Line">7</td>' in page
    assert counts() == before
    problems_csv = client.get(response["Location"] + "problems.csv")
    assert problems_csv["Content-Type"] == "text/csv; charset=utf-8"
    assert problems_csv.content.decode().splitlines()[1] == "7,email,“bad” is not a valid email address."


def test_a_problem_that_looks_like_a_formula_is_neutralised_in_the_problems_csv(tenant, login):
    client = login(tenant.hr)
    response = upload(client, roster("=1+1,Ann,Acme,employee,"))
    problems_csv = client.get(response["Location"] + "problems.csv").content.decode()
    assert problems_csv.splitlines()[1] == "2,email,“=1+1” is not a valid email address."
    response = upload(client, roster("a@x.com,Ann,Acme,-boss,"))
    line = client.get(response["Location"] + "problems.csv").content.decode().splitlines()[1]
    assert line.startswith("2,role,") and not line.split(",", 2)[2].startswith(("=", "+", "-", "@"))


def test_the_problems_of_a_file_are_paginated(tenant, login):
    client = login(tenant.hr)
    response = upload(client, roster(*(f"p{n}@x.com,P,Acme,boss," for n in range(250))))
    page = client.get(response["Location"] + "?page=3").content.decode()
    assert "Showing 201–250 of 250." in page and "Page 3 of 3" in page
    assert (
        '<td class="num" data-label="Line">251</td>' in page
        and '<td class="num" data-label="Line">201</td>' not in page
    )


def test_an_excel_workbook_or_no_file_is_refused_by_the_form(tenant, login):
    client = login(tenant.hr)
    response = upload(client, b"PK\x03\x04...", name="roster.xlsx")
    assert response.status_code == 200
    assert "This is a spreadsheet workbook." in response.content.decode()
    response = client.post("/o/acme/people/import/", {})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not RosterImport.all_organizations.exists()


def test_a_big_upload_goes_to_the_task_and_the_page_shows_its_progress(
    tenant, login, django_capture_on_commit_callbacks
):
    client = login(tenant.hr)
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(client, roster_sample_csv(rows=2_500, top="Acme"))
    detail = response["Location"]
    page = client.get(detail).content.decode()
    assert "Waiting to start…" in page and 'role="progressbar"' in page and "roster-import.js" in page
    status = client.get(detail + "status/").json()
    assert status == {
        "status": "pending",
        "label": "Waiting to start",
        "processed_rows": 0,
        "total_rows": 0,
        "text": "Waiting to start…",
        "finished": False,
    }
    RosterImport.all_organizations.update(status=RosterImportStatus.VALIDATING, processed_rows=1000, total_rows=2500)
    assert "Checked 1,000 of 2,500 rows" in client.get(detail).content.decode()
    RosterImport.all_organizations.update(status=RosterImportStatus.PENDING)
    for callback in callbacks:
        callback()
    assert client.get(detail + "status/").json()["status"] == "preview"
    assert "Nothing has changed yet." in client.get(detail).content.decode()


def test_the_file_to_start_from_is_the_organisations_own_roster_and_the_help_quotes_its_tree(tenant, login):
    client = login(tenant.hr)
    page = client.get("/o/acme/people/import/").content.decode()
    assert "Download your current roster (CSV)" in page and "<code>Acme/Engineering/Platform</code>" in page
    response = client.get("/o/acme/people/import/example.csv")
    assert response["Content-Disposition"] == 'attachment; filename="acme-roster.csv"'
    assert response.content == client.get("/o/acme/people/export.csv").content
    assert response.content.decode().splitlines()[0] == HEADER


def test_the_help_names_the_real_root_when_it_is_not_the_organisations_name(db, login):
    from tests.support.factories import MembershipFactory, OrganizationFactory, TeamFactory

    org = OrganizationFactory(slug="northwind", name="Northwind Health")
    root = TeamFactory(organization=org, name="Northwind")
    TeamFactory(parent=TeamFactory(parent=root, name="Care"), name="Ward 7")
    hr = MembershipFactory(organization=org, role="hr", team=root)
    page = login(hr).get("/o/northwind/people/import/").content.decode()
    assert "<code>Northwind/Care/Ward 7</code>" in page and "the top of Northwind Health's tree is" in page
    assert "Northwind Health/" not in page
    assert "Download an example CSV" in page  # nobody to export but HR: a sketch on the real tree
    example = login(hr).get("/o/northwind/people/import/example.csv").content.decode()
    assert "Northwind/Care/Ward 7" in example and "Northwind Health/" not in example


def test_a_file_separated_by_semicolons_is_read_and_the_preview_says_so(tenant, login):
    client = login(tenant.hr)
    content = roster(*(line.replace(",", ";") for line in ACME[:2]), header=HEADER.replace(",", ";"))
    response = upload(client, content, mode="add")
    page = client.get(response["Location"]).content.decode()
    assert "Nothing has changed yet." in page and "separated by semicolons: it was read that way" in page


# Export and history ------------------------------------------------------------------------------


def test_export_then_reimport_through_the_pages_changes_nothing(tenant, login):
    client = login(tenant.hr)
    exported = client.get("/o/acme/people/export.csv")
    assert exported["Content-Disposition"] == 'attachment; filename="acme-roster.csv"'
    before = (people(tenant), leads(tenant))
    response = upload(client, exported.content)
    assert "This file changes nothing." in client.get(response["Location"]).content.decode()
    assert (people(tenant), leads(tenant)) == before


def test_the_history_lists_changes_and_undoes_an_import_after_a_preview(tenant, login):
    client = login(tenant.hr)
    before = people(tenant)
    response = upload(client, roster(*ACME))
    client.post(response["Location"], {"large_deactivation_ok": "on"})
    page = client.get("/o/acme/people/history/").content.decode()
    change = RosterChange.all_organizations.get(kind=RosterChangeKind.IMPORT)
    assert "Imported roster.csv: 3 added" in page and f"/o/acme/people/history/{change.pk}/undo/" in page
    url = f"/o/acme/people/history/{change.pk}/undo/"
    preview = client.get(url).content.decode()
    said = words(preview)
    assert "Nothing has changed yet." in said and "Undid: Imported roster.csv" in said
    assert "Active again: may sign in and is invited to the next pulses." in said  # the deactivated
    assert "Would see the results of Acme/Engineering (and the 2 teams below it)" in said  # the manager back
    assert people(tenant) != before  # a preview changes nothing
    undone = client.post(url, {"confirm": CONFIRM.search(preview)[1]}, follow=True).content.decode()
    assert "Undone: the roster is as it was before that change." in undone
    assert people(tenant) == before
    again = client.get(url).content.decode()
    assert "This change cannot be undone now" in again and "This change is undone already." in again


def test_an_undo_that_a_later_change_stands_in_the_way_of_says_which_and_changes_nothing(tenant, login):
    client = login(tenant.hr)
    url = f"/o/acme/people/{tenant.employee.pk}/"
    name = tenant.employee.user.name
    confirmed(client, url, {"name": name, "team": tenant.product.pk, "role": "employee"})
    confirmed(client, url, {"name": name, "team": tenant.engineering.pk, "role": "employee"})
    first, second = RosterChange.all_organizations.order_by("pk")
    page = client.get(f"/o/acme/people/history/{first.pk}/undo/").content.decode()
    assert "cannot be undone now" in page and "A later change" in page and "Undo that one first" in page
    assert client.post(f"/o/acme/people/history/{first.pk}/undo/", {"confirm": "x"}).status_code == 200
    assert people(tenant)["employee@acme.test"][2] == "Acme/Engineering"
    assert confirmed(client, f"/o/acme/people/history/{second.pk}/undo/").status_code == 302
    assert confirmed(client, f"/o/acme/people/history/{first.pk}/undo/").status_code == 302
    assert people(tenant)["employee@acme.test"][2] == "Acme/Engineering/Platform"


def test_an_empty_history_explains_itself(tenant, login):
    assert "No changes yet" in login(tenant.hr).get("/o/acme/people/history/").content.decode()


# One person, one team ----------------------------------------------------------------------------


def test_hr_adds_a_manager_who_gets_a_set_up_link(tenant, login, mailoutbox, django_capture_on_commit_callbacks):
    client = login(tenant.hr)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
        "/o/acme/people/new/",
            {"email": "Mia@Acme.test", "name": "Mia Manager", "team": tenant.product.pk, "role": "manager",
             "leads": [tenant.product.pk]},
        )  # fmt: skip
    assert response.status_code == 302
    assert people(tenant)["mia@acme.test"] == ("Mia Manager", "manager", "Acme/Engineering/Product", True)
    assert ("mia@acme.test", "Acme/Engineering/Product") in leads(tenant)
    assert [message.to for message in mailoutbox] == [["mia@acme.test"]]
    assert mailoutbox[0].subject == "Acme: set up your Pulse account"
    history = RosterChange.all_organizations.get()
    assert history.actor == tenant.hr and "Added Mia Manager <mia@acme.test>" in history.summary


def test_a_bad_person_form_keeps_what_was_typed(tenant, login):
    client = login(tenant.hr)
    response = client.post(
        "/o/acme/people/new/",
        {"email": "employee@acme.test", "name": "Line\nBreak", "team": tenant.product.pk, "role": "manager"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "A name must fit on one line" in page or "already in the organisation" in page
    assert 'value="employee@acme.test"' in page
    assert counts()["memberships"] == Membership.all_organizations.count()


def test_hr_moves_promotes_deactivates_and_reactivates_a_person(
    tenant, login, mailoutbox, django_capture_on_commit_callbacks
):
    client = login(tenant.hr)
    url = f"/o/acme/people/{tenant.employee.pk}/"
    assert tenant.employee.user.email in client.get(url).content.decode()
    name = tenant.employee.user.name
    tenant.employee.user.set_unusable_password()
    tenant.employee.user.save()
    promotion = {"name": name, "team": tenant.product.pk, "role": "manager", "leads": [tenant.product.pk]}
    preview = client.post(url, promotion)
    page = preview.content.decode()
    assert preview.status_code == 200 and "Nothing has changed yet." in page
    assert "Role: Employee → Manager. Would see the results of Acme/Engineering/Product." in words(page)
    assert people(tenant)["employee@acme.test"][1] == "employee" and mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {**promotion, "confirm": CONFIRM.search(page)[1]})
    assert response.status_code == 302
    assert people(tenant)["employee@acme.test"] == (name, "manager", "Acme/Engineering/Product", True)
    assert [message.to for message in mailoutbox] == [["employee@acme.test"]]  # promoted: a set-up link
    page = client.get(url + "active/").content.decode()
    assert "Deactivated: can no longer sign in to Acme and gets no more pulses." in words(page)
    assert "Would no longer see the results of Acme/Engineering/Product." in words(page)
    assert people(tenant)["employee@acme.test"][3] is True  # the preview changed nothing
    assert client.post(url + "active/", {"active": "0"}).status_code == 200  # not confirmed: the preview again
    assert people(tenant)["employee@acme.test"][3] is True
    client.post(url + "active/", {"confirm": CONFIRM.search(page)[1]})
    assert people(tenant)["employee@acme.test"][3] is False
    assert confirmed(client, url + "active/").status_code == 302
    assert people(tenant)["employee@acme.test"][3] is True
    summaries = list(RosterChange.all_organizations.order_by("pk").values_list("summary", flat=True))
    assert summaries[0].startswith(f"Changed {name} <employee@acme.test>: team Acme/Engineering/Platform →")
    assert summaries[1:] == [
        f"Deactivated {name} <employee@acme.test>.",
        f"Reactivated {name} <employee@acme.test>.",
    ]


def test_hr_cannot_deactivate_themselves_or_drop_their_own_hr_role(tenant, login):
    client = login(tenant.hr)
    url = f"/o/acme/people/{tenant.hr.pk}/"
    page = client.post(url + "active/", {"active": "0"}, follow=True).content.decode()
    assert "You cannot deactivate yourself." in page
    response = client.post(url, {"name": "Hana HR", "team": tenant.root.pk, "role": "employee"})
    assert response.status_code == 200 and "You cannot take your own HR rights away" in response.content.decode()
    assert people(tenant)["hr@acme.test"][1:] == ("hr", "Acme", True)


def test_hr_resends_the_set_up_link_until_the_account_is_set_up(tenant, login, mailoutbox):
    client = login(tenant.hr)
    user = tenant.manager.user
    user.set_unusable_password()
    user.save()
    page = client.post(f"/o/acme/people/{tenant.manager.pk}/account/", follow=True).content.decode()
    assert "A new link to set up their account is on its way" in page
    assert [message.to for message in mailoutbox] == [["manager@acme.test"]]
    page = client.post(f"/o/acme/people/{tenant.admin.pk}/account/", follow=True).content.decode()
    assert "has set up their account already" in page and len(mailoutbox) == 1


def test_hr_renames_moves_and_merges_teams_and_a_round_keeps_its_tree(tenant, login):
    from tests.support.factories import RoundFactory, SurveyFactory

    with tenant.scope():
        round_ = RoundFactory(survey=SurveyFactory(organization=tenant.org))
        frozen = set(round_.team_snapshot.values_list("team_id", "parent_id"))
    client = login(tenant.hr)
    url = f"/o/acme/people/teams/{tenant.product.pk}/"
    page = words(client.post(url, {"name": "Products", "parent": tenant.root.pk}).content.decode())
    assert "Move Acme/Engineering/Product?" in page
    assert "Would no longer see the results of Acme/Engineering/Product." in page  # Engineering's lead
    response = confirmed(client, url, {"name": "Products", "parent": tenant.root.pk})
    assert response.status_code == 302
    product = Team.all_organizations.get(pk=tenant.product.pk)
    assert (product.path, product.parent_id) == ("Acme/Products", tenant.root.pk)
    assert client.post(url, {"name": "Product range", "parent": tenant.root.pk}).status_code == 302  # a rename: at once
    confirmed(client, f"/o/acme/people/teams/{tenant.platform.pk}/merge/", {"into": product.pk})
    assert people(tenant)["employee@acme.test"][2] == "Acme/Product range"
    assert (
        not Team.all_organizations.filter(pk=tenant.platform.pk).exists()
        or not Membership.all_organizations.filter(team_id=tenant.platform.pk).exists()
    )
    with tenant.scope():
        assert set(round_.team_snapshot.values_list("team_id", "parent_id")) == frozen


def test_a_team_cannot_move_under_itself_and_the_form_says_why(tenant, login):
    client = login(tenant.hr)
    response = client.post(
        f"/o/acme/people/teams/{tenant.engineering.pk}/", {"name": "Engineering", "parent": tenant.platform.pk}
    )
    assert response.status_code == 200
    assert Team.all_organizations.get(pk=tenant.engineering.pk).path == "Acme/Engineering"


# The People page -----------------------------------------------------------------------------------


def test_the_people_page_shows_the_tree_with_counts_and_leads_and_finds_people(
    tenant, other_tenant, login, django_assert_num_queries
):
    client = login(tenant.hr)
    client.get("/o/acme/people/")  # warm the session
    with django_assert_num_queries(9):  # the deactivations held from SCIM among them
        response = client.get("/o/acme/people/")
    page = response.content.decode()
    assert "Engineering" in page and "Platform" in page
    assert "employee@acme.test" in page and "globex" not in page
    tree = {node.team.path: node for node in response.context["tree"]}
    assert (tree["Acme"].members, tree["Acme"].subtree_members) == (2, 4)
    assert tree["Acme/Engineering"].leads == [tenant.manager.user.name]
    found = client.get("/o/acme/people/", {"q": "Platform"}).context["page"].object_list
    assert [m.user.email for m in found] == ["employee@acme.test"]
    apply(
        tenant,
        roster(*ACME, *(f"p{n}@acme.test,P {n},Acme/T{n % 7},manager,Acme/T{n % 7}" for n in range(60))),
        importer=tenant.hr,
    )
    with django_assert_num_queries(9):  # more people, teams and leads: not more queries
        client.get("/o/acme/people/")


def test_the_people_page_filters_deactivated_people(tenant, login):
    Membership.all_organizations.filter(pk=tenant.employee.pk).update(is_active=False)
    client = login(tenant.hr)
    emails = [m.user.email for m in client.get("/o/acme/people/", {"status": "inactive"}).context["page"]]
    assert emails == ["employee@acme.test"]
    assert "No one matches this search." in client.get("/o/acme/people/", {"q": "zzz"}).content.decode()


def test_an_organisation_without_people_is_invited_to_import(db, login):
    from tests.support.factories import MembershipFactory, OrganizationFactory

    org = OrganizationFactory(slug="fresh", name="Fresh")
    hr = MembershipFactory(organization=org, role="hr")
    page = login(hr).get("/o/fresh/people/").content.decode()
    assert "Import your roster to get started" in page and "email,name,team,role,manages" in page


@pytest.mark.parametrize("role", ["employee", "manager"])
def test_employees_and_managers_cannot_open_the_people_pages(tenant, login, role):
    client = login(getattr(tenant, role))
    imported = RosterImport.all_organizations.create(organization=tenant.org, filename="r.csv", content=b"")
    for url in ("/o/acme/people/", "/o/acme/people/import/", f"/o/acme/people/import/{imported.pk}/"):
        assert client.get(url).status_code == 403, url
    assert upload(client, roster(*ACME)).status_code == 403
    assert RosterImport.all_organizations.count() == 1


def test_another_organisations_import_is_404(tenant, other_tenant, login):
    theirs = RosterImport.all_organizations.create(organization=other_tenant.org, filename="r.csv", content=b"")
    client = login(tenant.hr)
    assert client.get(f"/o/acme/people/import/{theirs.pk}/").status_code == 404
    assert client.get(f"/o/acme/people/import/{theirs.pk}/status/").status_code == 404
    assert client.get(f"/o/globex/people/import/{theirs.pk}/").status_code == 404
    assert upload(client, roster(*ACME)).status_code == 302
    with organization_scope(other_tenant.org):
        assert not Membership.objects.filter(user__email="new@acme.test").exists()
    assert TeamManagement.all_organizations.filter(organization=other_tenant.org).count() == 1


def test_hr_sees_people_in_the_navigation_and_employees_do_not(tenant, login):
    assert 'href="/o/acme/people/"' in login(tenant.hr).get("/o/acme/").content.decode()
    assert 'href="/o/acme/people/"' not in login(tenant.employee).get("/o/acme/").content.decode()


def test_a_big_upload_while_the_broker_is_down_is_accepted_and_waits(
    tenant, login, broker_down, django_capture_on_commit_callbacks
):
    client = login(tenant.hr)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, roster_sample_csv(rows=2_500, top="Acme"))
    assert response.status_code == 302 and broker_down.calls == ["surveys.tasks.roster_import_run"]
    page = client.get(response["Location"]).content.decode()
    assert "Waiting to start…" in page and "You can leave this page" in page
