"""What a roster file changes: the plan (shown as a preview), writing it once confirmed, the two
modes, the import's life (preview, confirmation, cancellation, the task, the safety net), undo,
the export round trip and the command."""

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.roster_import import roster_sample_csv
from surveys.core.exceptions import PulseError
from surveys.core.tenancy import organization_scope
from surveys.models import (
    Membership,
    RosterChange,
    RosterChangeKind,
    RosterImport,
    RosterImportMode,
    RosterImportStatus,
    Team,
    TeamManagement,
    User,
)
from surveys.selectors.roster import roster_example_csv, roster_export_csv
from surveys.services.roster import (
    PREVIEW_LIFETIME,
    STRANDED_AFTER,
    roster_apply,
    roster_change_undo,
    roster_import_cancel,
    roster_import_confirm,
    roster_import_start,
    roster_imports_tend,
    roster_plan,
)
from surveys.services.roster_file import roster_validate
from tests.support.errors import refused
from tests.support.roster import ACME, HEADER, apply, counts, leads, people, preview, roster


@pytest.fixture(autouse=True)
def _names_as_in_acme(db, request):
    """The fixture's HR person and admin are called what ACME calls them."""
    if "tenant" in request.fixturenames:
        tenant = request.getfixturevalue("tenant")
        User.objects.filter(pk=tenant.hr.user_id).update(name="Hana HR")
        User.objects.filter(pk=tenant.admin.user_id).update(name="Ada Admin")


def start(tenant, content: bytes, mode: str = RosterImportMode.SYNC, importer="hr", **options) -> RosterImport:
    with tenant.scope():
        return roster_import_start(
            organization=tenant.org,
            uploaded_by=getattr(tenant, importer) if importer else None,
            filename="roster.csv",
            content=content,
            mode=mode,
            **options,
        )


def confirm(tenant, started: RosterImport, large_deactivation_ok: bool = False) -> RosterImport:
    with tenant.scope():
        return roster_import_confirm(
            roster_import=started, confirmed_by=tenant.hr, large_deactivation_ok=large_deactivation_ok
        )


def state(tenant) -> tuple:
    return counts(), people(tenant), leads(tenant)


# The plan: everything a file would change, written nowhere ---------------------------------------


def test_a_preview_lists_every_change_and_writes_nothing(tenant, other_tenant):
    before = state(tenant)
    with CaptureQueriesContext(connection) as queries:
        shown = preview(tenant, roster(*ACME), importer=tenant.hr)
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == [] and state(tenant) == before
    assert shown["counts"] == {
        "people_added": 3,  # lead, dev, new
        "people_moved": 0,
        "people_updated": 0,
        "people_reactivated": 0,
        "people_deactivated": 2,  # employee and manager: not in the file
        "teams_created": 2,  # Acme/Sales, Acme/Sales/North
        "teams_renamed": 0,
        "teams_emptied": 0,  # Platform and Engineering get dev and lead
        "leads_added": 2,
        "leads_removed": 1,  # the manager's lead of Engineering
        "people_unchanged": 2,  # hr and admin
    }
    assert shown["lists"]["people_deactivated"] == [
        ["employee@acme.test", tenant.employee.user.name, "Acme/Engineering/Platform"],
        ["manager@acme.test", tenant.manager.user.name, "Acme/Engineering"],
    ]
    assert shown["lists"]["teams_created"] == [["Acme/Sales"], ["Acme/Sales/North"]]
    assert shown["lists"]["leads_removed"] == [["Acme/Engineering", "manager@acme.test"]]
    assert shown["large_deactivation"] is True  # 2 of 4 active people
    assert shown["changes_nothing"] is False


def test_a_valid_import_creates_teams_with_parents_people_and_leads(tenant, other_tenant):
    theirs = people(other_tenant)
    summary = apply(tenant, roster(*ACME), importer=tenant.hr)
    with tenant.scope():
        north = Team.objects.get(path="Acme/Sales/North")
        assert (north.name, north.parent.path, north.parent.parent.path) == ("North", "Acme/Sales", "Acme")
    assert people(tenant)["new@acme.test"] == ("New Person", "employee", "Acme/Sales/North", True)
    assert people(tenant)["lead@acme.test"] == ("Lee Lead", "manager", "Acme/Engineering", True)
    assert leads(tenant) == {("lead@acme.test", "Acme/Engineering"), ("lead@acme.test", "Acme/Engineering/Platform")}
    assert summary["people_added"] == 3 and summary["teams_created"] == 2
    assert User.objects.get(email="new@acme.test").has_usable_password() is False
    assert people(other_tenant) == theirs


def test_people_absent_are_deactivated_never_deleted_and_come_back(tenant):
    apply(tenant, roster(*ACME))
    assert people(tenant)["employee@acme.test"][3] is False  # not in ACME
    assert people(tenant)["manager@acme.test"][3] is False
    assert leads(tenant) == {("lead@acme.test", "Acme/Engineering"), ("lead@acme.test", "Acme/Engineering/Platform")}
    summary = apply(tenant, roster(*ACME, "employee@acme.test,Eve,Acme/Engineering/Product,employee,"))
    assert people(tenant)["employee@acme.test"] == ("Eve", "employee", "Acme/Engineering/Product", True)
    assert summary["people_reactivated"] == 1
    assert summary["people_added"] == 0 and summary["people_deactivated"] == 0


def test_team_role_and_name_are_updated_and_moves_are_told_apart(tenant):
    apply(tenant, roster(*ACME))
    changed = [line for line in ACME if not line.startswith(("dev@", "new@", "lead@"))]
    changed += [
        "dev@acme.test,Devi One,Acme/Engineering/Platform,employee,",  # name
        "new@acme.test,New Person,Acme/Sales,employee,",  # team
        "lead@acme.test,Lee Lead,Acme/Engineering,hr,Acme/Engineering;Acme/Engineering/Platform",  # role
    ]
    shown = preview(tenant, roster(*changed))
    assert shown["lists"]["people_moved"] == [["new@acme.test", "New Person", "Acme/Sales/North", "Acme/Sales"]]
    assert shown["lists"]["people_updated"] == [
        ["dev@acme.test", "Devi One", "name Dev One → Devi One"],
        ["lead@acme.test", "Lee Lead", "role Manager → hr"],
    ]
    assert shown["lists"]["teams_emptied"] == [["Acme/Sales/North"]]
    summary = apply(tenant, roster(*changed))
    found = people(tenant)
    assert found["dev@acme.test"][0] == "Devi One"
    assert found["new@acme.test"][2] == "Acme/Sales"
    assert found["lead@acme.test"][1] == "hr"
    assert (summary["people_updated"], summary["people_moved"], summary["people_unchanged"]) == (2, 1, 2)


def test_manages_sets_exactly_the_teams_a_person_leads(tenant):
    apply(tenant, roster(*ACME))
    moved = [line for line in ACME if not line.startswith("lead@")]
    moved.append("lead@acme.test,Lee Lead,Acme/Engineering,manager,Acme/Sales")
    summary = apply(tenant, roster(*moved))
    assert leads(tenant) == {("lead@acme.test", "Acme/Sales")}
    assert (summary["leads_added"], summary["leads_removed"]) == (1, 2)


def test_teams_absent_from_the_file_are_kept(tenant):
    apply(tenant, roster(*ACME))
    with tenant.scope():
        assert Team.objects.filter(path="Acme/Engineering/Product").exists()


def test_a_team_whose_people_all_turn_up_under_a_new_name_is_renamed_not_recreated(tenant):
    apply(tenant, roster(*ACME))
    with tenant.scope():
        north = Team.objects.get(path="Acme/Sales/North")
    renamed = [line.replace("Acme/Sales/North", "Acme/Sales/Nordic") for line in ACME]
    shown = preview(tenant, roster(*renamed))
    assert shown["lists"]["teams_renamed"] == [["Acme/Sales/North", "Acme/Sales/Nordic"]]
    assert shown["counts"]["teams_created"] == shown["counts"]["people_moved"] == 0
    apply(tenant, roster(*renamed))
    with tenant.scope():
        assert Team.objects.get(pk=north.pk).path == "Acme/Sales/Nordic"


def test_reimporting_the_same_file_changes_nothing_and_writes_only_its_history(tenant):
    apply(tenant, roster(*ACME), importer=tenant.hr)
    before = state(tenant)
    assert preview(tenant, roster(*ACME), importer=tenant.hr)["changes_nothing"] is True
    with CaptureQueriesContext(connection) as queries:
        summary = apply(tenant, roster(*ACME), importer=tenant.hr)
    assert state(tenant) == before
    assert summary["people_unchanged"] == 5
    assert not any(
        summary[key] for key in summary if key.startswith(("people_", "teams_", "leads_")) and key != "people_unchanged"
    )
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert len(writes) == 1 and "rosterchange" in writes[0].lower()


def test_the_importer_is_never_deactivated_by_their_own_import(tenant):
    without_hr = [line for line in ACME if not line.startswith("hr@")]
    summary = apply(tenant, roster(*without_hr), importer=tenant.hr)
    assert people(tenant)["hr@acme.test"][3] is True
    assert summary["notes"] == [
        "You are not in the file. You stay active, with your role, team and leads as they were: "
        "an import never deactivates the person running it."
    ]
    apply(tenant, roster(*without_hr), importer=tenant.admin)  # someone else's import may
    assert people(tenant)["hr@acme.test"][3] is False


def test_the_importer_keeps_their_hr_role_and_the_report_says_so(tenant):
    demoted = [line for line in ACME if not line.startswith("hr@")] + ["hr@acme.test,Hana HR,Acme,employee,"]
    summary = apply(tenant, roster(*demoted), importer=tenant.hr)
    assert people(tenant)["hr@acme.test"][1] == "hr"
    assert summary["notes"] == [
        "The file gives you (line 6) the role employee. You keep the role HR: "
        "an import never takes HR rights from the person running it."
    ]
    apply(tenant, roster(*demoted), importer=tenant.admin)
    assert people(tenant)["hr@acme.test"][1] == "employee"


def test_the_importer_absent_from_the_file_keeps_their_leads(tenant):
    TeamManagement.all_organizations.create(organization=tenant.org, team=tenant.root, membership=tenant.hr)
    apply(tenant, roster(*[line for line in ACME if not line.startswith("hr@")]), importer=tenant.hr)
    assert ("hr@acme.test", "Acme") in leads(tenant)


def test_a_person_of_another_organisation_joins_without_leaving_it_or_being_renamed(tenant, other_tenant):
    theirs = User.objects.get(email="employee@globex.test").name
    shown = preview(tenant, roster(*ACME, "employee@globex.test,Somebody Else,Acme/Engineering,employee,"))
    assert shown["counts"]["people_added"] == 4 and shown["lists"]["people_updated"] == []
    apply(tenant, roster(*ACME, "employee@globex.test,Somebody Else,Acme/Engineering,employee,"))
    assert people(tenant)["employee@globex.test"] == (theirs, "employee", "Acme/Engineering", True)
    assert people(other_tenant)["employee@globex.test"][3] is True
    assert User.objects.filter(email="employee@globex.test").count() == 1


def test_people_without_a_team_are_left_alone_by_a_full_sync(tenant):
    Membership.all_organizations.filter(pk=tenant.admin.pk).update(team=None)
    shown = preview(tenant, roster(*[line for line in ACME if not line.startswith("admin@")]), importer=tenant.hr)
    assert "admin@acme.test" not in str(shown["lists"]["people_deactivated"])
    assert shown["notes"] == [
        "1 active person has no team and is not in the file: a file cannot name them, so they stay as they are."
    ]


# Modes ---------------------------------------------------------------------------------------


def test_add_and_update_leaves_absent_people_and_their_leads_as_they_are(tenant):
    before = people(tenant)
    shown = preview(tenant, roster(*ACME), mode=RosterImportMode.ADD)
    assert shown["counts"]["people_deactivated"] == shown["counts"]["leads_removed"] == 0
    assert shown["large_deactivation"] is False
    apply(tenant, roster(*ACME), mode=RosterImportMode.ADD)
    after = people(tenant)
    assert after["employee@acme.test"] == before["employee@acme.test"]
    assert after["manager@acme.test"] == before["manager@acme.test"]
    assert ("manager@acme.test", "Acme/Engineering") in leads(tenant)
    assert after["new@acme.test"][3] is True


def test_add_and_update_still_changes_the_leads_of_people_in_the_file(tenant):
    apply(tenant, roster(*ACME))
    moved = ["lead@acme.test,Lee Lead,Acme/Sales,manager,Acme/Sales"]
    apply(tenant, roster(*moved), mode=RosterImportMode.ADD)
    assert leads(tenant) == {("lead@acme.test", "Acme/Sales")}


# The import's life: preview, confirmation, cancellation --------------------------------------------


def test_an_upload_stops_at_its_preview_and_confirming_writes_it(tenant, mailoutbox):
    before = state(tenant)
    started = start(tenant, roster(*ACME))
    assert started.status == RosterImportStatus.PREVIEW
    assert state(tenant) == before and mailoutbox == []
    assert bytes(RosterImport.all_organizations.get(pk=started.pk).content)  # kept until confirmed
    done = confirm(tenant, started, large_deactivation_ok=True)
    assert done.status == RosterImportStatus.DONE and done.finished_at and done.confirmed_by == tenant.hr
    stored = RosterImport.all_organizations.get(pk=started.pk)
    assert bytes(stored.content) == b"" and stored.summary["people_added"] == 3
    assert people(tenant)["new@acme.test"][3] is True
    change = RosterChange.all_organizations.get()
    assert (change.kind, change.actor, change.roster_import_id) == (RosterChangeKind.IMPORT, tenant.hr, started.pk)
    assert change.summary == ("Imported roster.csv: 3 added, 2 deactivated, 2 teams created.")


def test_a_large_deactivation_needs_a_second_confirmation(tenant):
    started = start(tenant, roster(*ACME))
    assert started.plan["large_deactivation"] is True and started.plan["deactivation_share"] == 0.5
    before = state(tenant)
    with pytest.raises(PulseError, match="deactivates more than one person in ten"):
        confirm(tenant, started)
    assert state(tenant) == before
    assert RosterImport.all_organizations.get(pk=started.pk).status == RosterImportStatus.PREVIEW
    assert confirm(tenant, started, large_deactivation_ok=True).status == RosterImportStatus.DONE


def test_a_small_deactivation_needs_no_second_confirmation(tenant):
    everyone = [
        f"{m.user.email},{m.user.name},{m.team.path},{m.role},"
        for m in Membership.all_organizations.filter(organization=tenant.org).select_related("user", "team")
    ]
    extra = [f"p{n}@acme.test,P {n},Acme,employee," for n in range(20)]
    apply(tenant, roster(*everyone, *extra))
    started = start(tenant, roster(*everyone, *extra[1:]))  # one of 24 leaves
    assert started.plan["counts"]["people_deactivated"] == 1 and started.plan["large_deactivation"] is False
    assert confirm(tenant, started).status == RosterImportStatus.DONE


def test_a_preview_made_stale_by_another_change_is_shown_again_not_written(tenant):
    started = start(tenant, roster(*ACME), mode=RosterImportMode.ADD)
    apply(tenant, roster("new@acme.test,New Person,Acme/Sales/North,employee,"), mode=RosterImportMode.ADD)
    before = state(tenant)
    again = confirm(tenant, started)
    assert again.status == RosterImportStatus.PREVIEW and again.plan["stale"] is True
    assert again.plan["counts"]["people_added"] == 2
    assert state(tenant) == before


def test_a_confirmation_twice_writes_once(tenant):
    started = start(tenant, roster(*ACME), mode=RosterImportMode.ADD)
    confirm(tenant, started)
    with pytest.raises(PulseError, match="not waiting for a confirmation"):
        confirm(tenant, started)
    assert RosterChange.all_organizations.count() == 1


def test_a_cancelled_preview_changes_nothing_and_drops_the_file(tenant):
    before = state(tenant)
    started = start(tenant, roster(*ACME))
    with tenant.scope():
        cancelled = roster_import_cancel(roster_import=started)
    assert cancelled.status == RosterImportStatus.CANCELLED and bytes(cancelled.content) == b""
    assert state(tenant) == before
    with refused("status", match="not waiting for a confirmation"):
        confirm(tenant, started, large_deactivation_ok=True)


def test_a_file_with_any_bad_row_fails_whole_and_is_not_kept(tenant, other_tenant):
    before = counts()
    result = start(tenant, roster(*ACME, "late@acme.test,Late,Acme,boss,"))
    assert result.status == RosterImportStatus.FAILED
    assert result.errors == [
        {"line": 7, "column": "role", "message": "“boss” is not a role: use employee, manager, hr or admin."}
    ]
    assert bytes(RosterImport.all_organizations.get(pk=result.pk).content) == b""
    assert counts() == before


def test_the_example_file_is_the_organisations_own_roster_and_changes_nothing_in_either_mode(tenant):
    with tenant.scope():
        example = roster_example_csv(organization=tenant.org)
        assert example == roster_export_csv(organization=tenant.org)
    assert "employee@acme.test" in example and "example.com" not in example
    for mode in (RosterImportMode.ADD, RosterImportMode.SYNC):
        started = start(tenant, example.encode(), mode=mode)
        assert started.status == RosterImportStatus.PREVIEW and started.plan["changes_nothing"] is True, mode


def test_an_organisation_of_one_gets_their_row_and_a_sketch_on_its_own_tree(db):
    from tests.support.factories import MembershipFactory, OrganizationFactory, TeamFactory

    org = OrganizationFactory(name="Northwind Health", slug="northwind")
    root = TeamFactory(organization=org, name="Northwind")
    TeamFactory(parent=TeamFactory(parent=root, name="Care"), name="Ward 7")
    MembershipFactory(organization=org, role="hr", team=root, user__email="hr@northwind.test")
    with organization_scope(org):
        example = roster_example_csv(organization=org)
        check = roster_validate(content=example.encode())
    assert check.ok, check.errors
    assert check.rows[0].email == "hr@northwind.test"
    assert {row.team for row in check.rows[1:]} == {"Northwind/Care/Ward 7"}  # the real root, not the name


def test_an_organisation_without_teams_gets_an_example_that_imports(db):
    from tests.support.factories import OrganizationFactory

    org = OrganizationFactory(name="Fresh/Co")
    with organization_scope(org):
        check = roster_validate(content=roster_example_csv(organization=org).encode())
    assert check.ok, check.errors
    assert check.rows[0].team == "Fresh-Co/Engineering/Platform"


# Export: the roster in the import format, round-tripping with no change ---------------------------


def test_export_then_import_changes_nothing(tenant):
    apply(tenant, roster(*ACME, "odd@acme.test,=cmd|' /C calc'!A0,Acme/-Ops,manager,Acme/-Ops"), importer=tenant.hr)
    with tenant.scope():
        exported = roster_export_csv(organization=tenant.org)
    assert exported.splitlines()[0] == HEADER
    assert "'=cmd" in exported and "'-Ops" not in exported  # a cell, not a path part, is made safe
    shown = preview(tenant, exported.encode(), importer=tenant.hr)
    assert shown["changes_nothing"] is True, shown["counts"]


def test_every_cell_that_could_run_as_a_formula_is_neutralised_in_the_export(tenant):
    apply(tenant, roster(*ACME, "odd@acme.test,@SUM(1),+Ops/Team,employee,", "pl@acme.test,-Plus,Acme,employee,"))
    with tenant.scope():
        exported = roster_export_csv(organization=tenant.org)
    for line in exported.splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.startswith(("=", "+", "-", "@")), line


# Undo -----------------------------------------------------------------------------------------


def test_the_last_import_can_be_undone(tenant):
    before = (people(tenant), leads(tenant))
    teams_before = set(Team.all_organizations.values_list("path", flat=True))
    started = start(tenant, roster(*ACME))
    confirm(tenant, started, large_deactivation_ok=True)
    change = RosterChange.all_organizations.get(kind=RosterChangeKind.IMPORT)
    with tenant.scope():
        roster_change_undo(change=change, actor=tenant.hr)
    assert (people(tenant), leads(tenant)) == before
    assert set(Team.all_organizations.values_list("path", flat=True)) == teams_before
    assert not User.objects.filter(email="new@acme.test").exists()
    change.refresh_from_db()
    assert change.undone_at is not None
    undo = RosterChange.all_organizations.get(kind=RosterChangeKind.UNDO)
    assert undo.summary.startswith("Undid: Imported roster.csv")
    with tenant.scope(), refused("undo", match="This change is undone already."):
        roster_change_undo(change=change, actor=tenant.hr)  # not twice


def test_an_import_cannot_be_undone_once_a_later_change_wrote_the_same_people(tenant):
    from surveys.services.people import person_deactivate

    confirm(tenant, start(tenant, roster(*ACME)), large_deactivation_ok=True)
    change = RosterChange.all_organizations.get(kind=RosterChangeKind.IMPORT)
    with tenant.scope():
        person_deactivate(membership=Membership.objects.get(user__email="dev@acme.test"), actor=tenant.hr)
        with refused("undo", match="A later change .*Deactivated Dev One.* Undo that one first"):
            roster_change_undo(change=change, actor=tenant.hr)
    assert people(tenant)["new@acme.test"][3] is True


def test_undo_keeps_people_a_round_already_counted(tenant):
    from tests.support.factories import RoundFactory, SurveyFactory, invite

    confirm(tenant, start(tenant, roster(*ACME)), large_deactivation_ok=True)
    with tenant.scope():
        round_ = RoundFactory(survey=SurveyFactory(organization=tenant.org))
        invite(round_, Membership.objects.get(user__email="new@acme.test"))
        roster_change_undo(change=RosterChange.objects.get(kind=RosterChangeKind.IMPORT), actor=tenant.hr)
    assert people(tenant)["new@acme.test"][3] is False  # kept, inactive: the round counts them
    assert people(tenant)["employee@acme.test"][3] is True


# Imports that always finish -------------------------------------------------------------------------


def test_a_big_file_is_checked_by_the_task_after_commit_with_progress(tenant, django_capture_on_commit_callbacks):
    content = roster_sample_csv(rows=4_500, top="Acme")
    with tenant.scope(), django_capture_on_commit_callbacks() as callbacks:
        started = roster_import_start(
            organization=tenant.org, uploaded_by=tenant.hr, filename="big.csv", content=content
        )
    assert started.status == RosterImportStatus.PENDING and len(callbacks) == 1
    with CaptureQueriesContext(connection) as queries:
        callbacks[0]()  # what the commit would run: the (eager) task
    progress = [
        int(value)
        for q in queries
        if "rosterimport" in q["sql"].lower() and q["sql"].lstrip().upper().startswith("UPDATE")
        for value in re.findall(r'"processed_rows" = (\d+)', q["sql"])
    ]
    assert progress == [0, 0, 1000, 2000, 3000, 4000, 4500]
    checked = RosterImport.all_organizations.get(pk=started.pk)
    assert checked.status == RosterImportStatus.PREVIEW and checked.plan["counts"]["people_added"] == 4_500
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        confirmed = roster_import_confirm(roster_import=checked, confirmed_by=tenant.hr, large_deactivation_ok=True)
    assert confirmed.status == RosterImportStatus.IMPORTING  # handed to the task
    done = RosterImport.all_organizations.get(pk=started.pk)
    assert done.status == RosterImportStatus.DONE and done.summary["people_added"] == 4_500
    assert people(tenant)["hr@acme.test"][3] is True  # the importer, absent from the file


def test_an_upload_while_the_broker_is_down_completes_once_it_is_back(
    tenant, broker_down, django_capture_on_commit_callbacks
):
    """The upload is accepted (no error), stays queued while nothing can reach the broker, and
    the safety net, running once the broker is back, takes it to its preview; the confirmation
    goes the same way."""
    run_commit_hooks = django_capture_on_commit_callbacks
    with tenant.scope(), run_commit_hooks(execute=True):
        started = roster_import_start(
            organization=tenant.org,
            uploaded_by=tenant.hr,
            filename="big.csv",
            content=roster_sample_csv(rows=2_100, top="Acme"),
        )
    assert broker_down.calls == ["surveys.tasks.roster_import_run"]
    assert RosterImport.all_organizations.get(pk=started.pk).status == RosterImportStatus.PENDING
    later = started.progress_at + STRANDED_AFTER * 2
    with run_commit_hooks(execute=True):
        assert roster_imports_tend(now=started.progress_at + STRANDED_AFTER / 2) == {"requeued": 0, "abandoned": 0}
    broker_down.up()
    with run_commit_hooks(execute=True):
        assert roster_imports_tend(now=later) == {"requeued": 1, "abandoned": 0}
    checked = RosterImport.all_organizations.get(pk=started.pk)
    assert checked.status == RosterImportStatus.PREVIEW
    broker_down.down()
    with tenant.scope(), run_commit_hooks(execute=True):
        roster_import_confirm(roster_import=checked, confirmed_by=tenant.hr, large_deactivation_ok=True)
    assert RosterImport.all_organizations.get(pk=started.pk).status == RosterImportStatus.IMPORTING
    broker_down.up()
    with run_commit_hooks(execute=True):
        roster_imports_tend(now=later + STRANDED_AFTER * 2)
    done = RosterImport.all_organizations.get(pk=started.pk)
    assert done.status == RosterImportStatus.DONE and bytes(done.content) == b""
    assert done.summary["people_added"] == 2_100


def test_the_safety_net_leaves_moving_imports_alone_and_abandons_old_previews(tenant):
    fresh = start(tenant, roster(*ACME))
    old = start(tenant, roster(*ACME))
    RosterImport.all_organizations.filter(pk=old.pk).update(progress_at=old.progress_at - PREVIEW_LIFETIME * 2)
    assert roster_imports_tend() == {"requeued": 0, "abandoned": 1}
    abandoned = RosterImport.all_organizations.get(pk=old.pk)
    assert abandoned.status == RosterImportStatus.CANCELLED and bytes(abandoned.content) == b""
    assert RosterImport.all_organizations.get(pk=fresh.pk).status == RosterImportStatus.PREVIEW


def test_the_task_leaves_a_finished_import_alone(tenant):
    from surveys.tasks import roster_import_run

    done = confirm(tenant, start(tenant, roster(*ACME), mode=RosterImportMode.ADD))
    before = counts()
    roster_import_run.delay(done.pk)
    assert counts() == before and RosterImport.all_organizations.get(pk=done.pk).status == RosterImportStatus.DONE


@pytest.mark.redis
def test_with_a_real_broker_the_import_is_queued_only_after_commit(
    tenant, redis_broker, django_capture_on_commit_callbacks
):
    import json

    import redis

    from surveys.tasks import roster_import_run
    from wellbeing.celery import app

    queue = redis.Redis.from_url(redis_broker)
    queue.delete("celery")
    app.conf.task_always_eager = False  # the autouse fixture restores it
    try:
        with tenant.scope(), django_capture_on_commit_callbacks(execute=True) as callbacks:
            started = roster_import_start(
                organization=tenant.org,
                uploaded_by=tenant.hr,
                filename="big.csv",
                content=roster_sample_csv(rows=2_100),
            )
            assert queue.llen("celery") == 0  # nothing is sent before the commit
        assert len(callbacks) == 1 and queue.llen("celery") == 1
        message = json.loads(queue.lpop("celery"))
        assert message["headers"]["task"] == "surveys.tasks.roster_import_run"
        assert message["headers"]["argsrepr"] == f"({started.pk},)"
    finally:
        queue.delete("celery")
    assert RosterImport.all_organizations.get(pk=started.pk).status == RosterImportStatus.PENDING
    roster_import_run(started.pk)  # what the worker runs
    assert RosterImport.all_organizations.get(pk=started.pk).status == RosterImportStatus.PREVIEW


# The command ------------------------------------------------------------------------------


def test_the_command_previews_and_writes_only_with_yes(tenant, tmp_path, capsys):
    path = tmp_path / "roster.csv"
    path.write_bytes(roster(*ACME))
    before = state(tenant)
    call_command("import_roster", str(path), "--org", "acme", "--mode", "sync", "--as", "HR@acme.test")
    out = capsys.readouterr().out
    assert "People: 3 added, 0 moved, 0 updated, 0 reactivated, 2 deactivated, 2 unchanged." in out
    assert "Teams: 2 created, 0 renamed, 0 left without people." in out
    assert "Nothing was written. Run again with --yes to import." in out
    assert state(tenant) == before
    with pytest.raises(CommandError, match="Tick the box|--deactivate-many"):
        call_command("import_roster", str(path), "--org", "acme", "--mode", "sync", "--as", "hr@acme.test", "--yes")
    assert state(tenant) == before
    call_command(
        "import_roster",
        str(path),
        "--org",
        "acme",
        "--mode",
        "sync",
        "--as",
        "hr@acme.test",
        "--yes",
        "--deactivate-many",
    )
    assert "Imported 5 people into Acme." in capsys.readouterr().out
    assert RosterImport.all_organizations.filter(status=RosterImportStatus.DONE).get().uploaded_by == tenant.hr
    call_command("import_roster", str(path), "--org", "acme", "--mode", "sync", "--as", "hr@acme.test")
    assert "People: 0 added, 0 moved, 0 updated, 0 reactivated, 0 deactivated, 5 unchanged." in capsys.readouterr().out


def test_the_command_adds_and_updates_by_default_and_deactivates_no_one(tenant, tmp_path, capsys):
    path = tmp_path / "roster.csv"
    path.write_bytes(roster("new@acme.test,New Person,Acme/Sales,employee,"))
    call_command("import_roster", str(path), "--org", "acme", "--yes")
    assert people(tenant)["new@acme.test"][3] is True and people(tenant)["employee@acme.test"][3] is True


def test_the_command_prints_every_problem_and_fails(tenant, tmp_path, capsys):
    path = tmp_path / "roster.csv"
    path.write_bytes(roster("a@x.com,Ann,Acme,boss,", "nope,Bob,Acme,employee,"))
    before = counts()
    with pytest.raises(CommandError, match="Nothing was imported: 2 problems in roster.csv."):
        call_command("import_roster", str(path), "--org", "acme")
    assert capsys.readouterr().out.splitlines() == [
        "line 2 (role): “boss” is not a role: use employee, manager, hr or admin.",
        "line 3 (email): “nope” is not a valid email address.",
    ]
    assert counts() == before


def test_the_command_protects_the_person_it_runs_as(tenant, tmp_path, capsys):
    path = tmp_path / "roster.csv"
    path.write_bytes(roster(*[line for line in ACME if not line.startswith("hr@")]))
    call_command(
        "import_roster",
        str(path),
        "--org",
        "acme",
        "--mode",
        "sync",
        "--as",
        "hr@acme.test",
        "--yes",
        "--deactivate-many",
    )
    assert "an import never deactivates the person running it" in capsys.readouterr().out
    assert people(tenant)["hr@acme.test"][3] is True


def test_the_command_refuses_unknown_organisations_members_and_files(tenant, other_tenant, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(roster(*ACME))
    with pytest.raises(CommandError, match="No organisation"):
        call_command("import_roster", str(path), "--org", "nope")
    with pytest.raises(CommandError, match="not an active member of Acme"):
        call_command("import_roster", str(path), "--org", "acme", "--as", "hr@globex.test")
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_roster", str(tmp_path / "missing.csv"), "--org", "acme")


# Property: whatever valid file, the organisation ends up as the file says, and again is a no-op ---

TEAM_NAMES = ("Ops", "Sales", "Web", "Data", "Care")


@st.composite
def rosters(draw):
    paths = ["Top"]
    for _ in range(draw(st.integers(0, 6))):
        parent = draw(st.sampled_from(paths))
        name = draw(st.sampled_from(TEAM_NAMES))
        if name not in parent.split("/") and f"{parent}/{name}" not in paths:
            paths.append(f"{parent}/{name}")
    people = []
    for number in range(draw(st.integers(1, 12))):
        role = draw(st.sampled_from(["employee", "manager", "hr", "admin"]))
        manages = draw(st.lists(st.sampled_from(paths), max_size=2, unique=True)) if role != "employee" else []
        people.append((f"p{number}@prop.test", f"Person {number}", draw(st.sampled_from(paths)), role, manages))
    in_file = {
        "/".join(team.split("/")[:depth]) for _, _, team, *_ in people for depth in range(1, team.count("/") + 2)
    }
    return [(*person[:4], [path for path in person[4] if path in in_file]) for person in people]


def _csv(people, order) -> bytes:
    header = [HEADER.split(",")[i] for i in order]
    lines = [",".join(header)]
    for email, name, team, role, manages in people:
        values = [email.upper(), name, team.replace("/", " / "), role.upper(), ";".join(manages)]
        lines.append(",".join(values[i] for i in order))
    return ("\n".join(lines) + "\n").encode()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=rosters(), second=rosters(), order=st.permutations(range(5)))
def test_any_valid_file_makes_the_organisation_match_it_and_the_export_round_trips(db, first, second, order):
    from tests.support.factories import OrganizationFactory

    org = OrganizationFactory()
    with organization_scope(org):
        for people in (first, second):
            check = roster_validate(content=_csv(people, order))
            assert check.ok, check.errors
            roster_apply(organization=org, plan=roster_plan(organization=org, rows=check.rows, mode="sync"), actor=None)
            again = roster_plan(organization=org, rows=check.rows, mode="sync")
            assert again.fingerprint() == roster_plan(organization=org, rows=(), mode="add").fingerprint()
            active = {
                m.user.email: (m.role, m.team.path)
                for m in Membership.objects.filter(is_active=True).select_related("user", "team")
            }
            assert active == {email: (role, team) for email, _, team, role, _ in people}
            assert set(TeamManagement.objects.values_list("membership__user__email", "team__path")) == {
                (email, path) for email, *_, manages in people for path in manages
            }
            for team in Team.objects.select_related("parent"):
                assert (
                    team.parent_id is None if "/" not in team.path else team.parent.path == team.path.rpartition("/")[0]
                )
            exported = roster_validate(content=roster_export_csv(organization=org).encode())
            assert roster_plan(organization=org, rows=exported.rows, mode="sync").fingerprint() == (
                roster_plan(organization=org, rows=(), mode="add").fingerprint()
            )


def test_someone_without_a_team_is_put_in_a_team_the_file_creates(tenant):
    Membership.all_organizations.filter(pk=tenant.hr.pk).update(team=None)
    shown = preview(tenant, roster("hr@acme.test,Hana HR,Acme/People,hr,"), mode=RosterImportMode.ADD)
    assert shown["lists"]["people_moved"] == [["hr@acme.test", "Hana HR", "no team", "Acme/People"]]
    apply(tenant, roster("hr@acme.test,Hana HR,Acme/People,hr,"), mode=RosterImportMode.ADD)
    assert people(tenant)["hr@acme.test"][2] == "Acme/People"
