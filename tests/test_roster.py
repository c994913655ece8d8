"""Roster import: whole-file validation (pure), applying a valid file, the task path with its
progress, the command and the HR pages."""

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.benchmarks.roster_import import roster_sample_csv
from surveys.models import Membership, RosterImport, RosterImportStatus, Team, TeamManagement, User
from surveys.selectors.roster import roster_example_csv
from surveys.services.roster import (
    MAX_BYTES,
    MAX_ROWS,
    roster_apply,
    roster_import_start,
    roster_read,
    roster_validate,
)
from surveys.tenancy import organization_scope

HEADER = "email,name,team,role,manages"


def roster(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def problems(content: bytes) -> list[tuple[int, str]]:
    return [(error.line, error.message) for error in roster_validate(content=content).errors]


def only_problem(content: bytes) -> tuple[int, str, str]:
    errors = roster_validate(content=content).errors
    assert len(errors) == 1, errors
    return errors[0].line, errors[0].column, errors[0].message


ACME = (
    "hr@acme.test,Hana HR,Acme,hr,",
    "admin@acme.test,Ada Admin,Acme,admin,",
    "lead@acme.test,Lee Lead,Acme/Engineering,manager,Acme/Engineering;Acme/Engineering/Platform",
    "dev@acme.test,Dev One,Acme/Engineering/Platform,employee,",
    "new@acme.test,New Person,Acme/Sales/North,employee,",
)


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "memberships": Membership.all_organizations.count(),
        "active": Membership.all_organizations.filter(is_active=True).count(),
        "teams": Team.all_organizations.count(),
        "leads": TeamManagement.all_organizations.count(),
    }


def apply(tenant, content: bytes, importer=None) -> dict:
    check = roster_validate(content=content)
    assert check.ok, check.errors
    with tenant.scope():
        return roster_apply(organization=tenant.org, rows=check.rows, importer=importer)


def people(tenant) -> dict[str, tuple]:
    with tenant.scope():
        return {
            m.user.email: (m.user.name, m.role, m.team.path if m.team else None, m.is_active)
            for m in Membership.objects.select_related("user", "team")
        }


def leads(tenant) -> set[tuple[str, str]]:
    with tenant.scope():
        return set(TeamManagement.objects.values_list("membership__user__email", "team__path"))


# Validation: every rule, with its line ------------------------------------------------------


def test_a_valid_file_is_normalised():
    content = roster(
        " Ada@Example.COM , Ada Lovelace ,Acme / Engineering,Manager,Acme/Engineering; Acme ;",
        "grace@example.com,Grace Hopper,Acme,HR,",
    )
    check = roster_validate(content=content)
    assert check.ok, check.errors
    first, second = check.rows
    assert (first.line, first.email, first.name, first.team, first.role) == (
        2,
        "ada@example.com",
        "Ada Lovelace",
        "Acme/Engineering",
        "manager",
    )
    assert first.manages == ("Acme/Engineering", "Acme")
    assert (second.role, second.manages) == ("hr", ())


def test_columns_may_come_in_any_order_and_extra_columns_are_ignored():
    content = roster("Acme,ada@example.com,E-17,employee,,Ada", header="team,email,staff id,role,manages,name")
    check = roster_validate(content=content)
    assert check.ok, check.errors
    assert check.ignored_columns == ["staff id"]
    assert check.rows[0].name == "Ada" and check.rows[0].team == "Acme"


def test_an_unknown_role_is_reported_on_its_line():
    assert only_problem(roster("a@x.com,A,Acme,employee,", "b@x.com,B,Acme,boss,")) == (
        3,
        "role",
        "“boss” is not a role: use employee, manager, hr or admin.",
    )


def test_a_missing_role_is_reported():
    line, column, message = only_problem(roster("a@x.com,A,Acme,,"))
    assert (line, column) == (2, "role") and message.startswith("The role is missing")


def test_a_duplicate_email_is_reported_on_the_later_line_naming_the_earlier_one():
    content = roster("ann@x.com,Ann,Acme,employee,", "bob@x.com,Bob,Acme,employee,", "ANN@x.com,Ann B,Acme,employee,")
    assert only_problem(content) == (4, "email", "ann@x.com is already on line 2: each person needs one row.")


@pytest.mark.parametrize("email", ["ann", "ann@", "@x.com", "ann x@x.com", "ann@x..com"])
def test_a_malformed_email_is_reported(email):
    assert only_problem(roster(f"{email},Ann,Acme,employee,")) == (
        2,
        "email",
        f"“{email}” is not a valid email address.",
    )


def test_a_missing_email_and_a_missing_name_are_reported():
    assert problems(roster(",Ann,Acme,employee,", "bob@x.com,,Acme,employee,")) == [
        (2, "The email is missing."),
        (3, "The name is missing."),
    ]


@pytest.mark.parametrize("team", ["Acme//Platform", "Acme/Platform/", "/Acme", "Acme/ /Platform"])
def test_an_empty_team_name_in_a_path_is_reported(team):
    line, column, message = only_problem(roster(f"a@x.com,Ann,{team},employee,"))
    assert (line, column) == (2, "team")
    assert message == f"“{team}” has an empty team name: look for “//”, or a “/” at the start or the end."


def test_an_empty_team_is_reported():
    line, column, message = only_problem(roster("a@x.com,Ann,  ,employee,"))
    assert (line, column) == (2, "team") and message.startswith("The team is missing")


def test_a_path_that_repeats_a_team_is_a_cycle():
    assert only_problem(roster("a@x.com,Ann,Acme,employee,", "b@x.com,Bob,A/B/A,employee,")) == (
        3,
        "team",
        "“A/B/A” names “A” twice: a team cannot be inside itself.",
    )


def test_manages_must_name_a_team_of_the_file():
    content = roster(
        "a@x.com,Ann,Acme/Engineering/Platform,manager,Acme/Engineering",  # a parent in the file: fine
        "b@x.com,Bob,Acme/Engineering,manager,Acme/Sales",
        "c@x.com,Cy,Acme/Engineering,manager,acme/engineering",
        "d@x.com,Di,Acme/Engineering,manager,Acme//Sales",
    )
    assert problems(content) == [
        (
            3,
            "“Acme/Sales” in manages is not a team in this file. "
            "A person can only lead a team named in the team column.",
        ),
        (4, "“acme/engineering” in manages is not a team in this file. Did you mean “Acme/Engineering”?"),
        (5, "“Acme//Sales” has an empty team name: look for “//”, or a “/” at the start or the end."),
    ]


def test_only_managers_hr_and_admins_lead_teams():
    line, column, message = only_problem(roster("a@x.com,Ann,Acme,employee,Acme"))
    assert (line, column) == (2, "manages") and message.startswith("Only managers, HR and admins lead teams")


def test_a_team_spelled_two_ways_is_reported():
    content = roster("a@x.com,Ann,Acme/Engineering,employee,", "b@x.com,Bob,Acme/engineering/Web,employee,")
    assert only_problem(content) == (
        3,
        "team",
        "The team “Acme/engineering” is written “Acme/Engineering” on line 2: use one spelling.",
    )


def test_a_file_that_is_not_utf8_gives_the_line_of_the_first_bad_byte():
    content = roster("a@x.com,Ann,Acme,employee,", "b@x.com,Zoë,Acme,employee,", "c@x.com,Chloë,Acme,employee,")
    latin1 = content.decode().encode("latin-1")
    line, column, message = only_problem(latin1)
    assert (line, column) == (3, "")
    assert message.startswith("The file is not UTF-8 text") and "CSV UTF-8" in message


def test_a_utf8_byte_order_mark_and_windows_line_ends_are_fine():
    content = b"\xef\xbb\xbf" + roster("a@x.com,Zoë,Acme,employee,").replace(b"\n", b"\r\n")
    check = roster_validate(content=content)
    assert check.ok, check.errors
    assert check.rows[0].name == "Zoë"


def test_missing_columns_are_named_on_line_1():
    assert problems(roster("a@x.com,Ann,Acme", header="email,name,team")) == [
        (
            1,
            "The header is missing the columns role, manages. "
            "The header needs: email,name,team,role,manages (in any order).",
        )
    ]


def test_a_file_without_a_header_says_line_1_must_be_the_header():
    line, _, message = only_problem(b"a@x.com,Ann,Acme,employee,\n")
    assert line == 1 and message.startswith("Line 1 must be the header row")


def test_a_column_twice_in_the_header_is_reported():
    line, column, message = only_problem(roster("a@x.com,Ann,Acme,employee,,b@x.com", header=HEADER + ",email"))
    assert (line, column, message) == (1, "email", "The column “email” appears twice in the header.")


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_reported(content):
    line, _, message = only_problem(content)
    assert line == 1 and message.startswith("The file is empty.")


def test_a_header_without_people_is_reported():
    line, _, message = only_problem(roster())
    assert line == 1 and message.startswith("The file has a header but no people")


def test_line_numbers_are_physical_lines_across_blank_lines_and_quoted_line_breaks():
    content = (HEADER + '\n\na@x.com,"Ann\nAnderson",Acme,employee,\n\nb@x.com,Bob,Acme,chief,\n').encode()
    assert only_problem(content)[0] == 6


def test_a_row_with_more_values_than_columns_is_reported():
    line, column, message = only_problem(roster("a@x.com,Smith, Ann,Acme,employee,"))
    assert (line, column) == (2, "")
    assert message.startswith("This row has 6 values but the header has 5 columns")


def test_a_row_shorter_than_the_header_is_read_with_empty_values():
    assert roster_validate(content=roster("a@x.com,Ann,Acme,employee")).ok
    assert only_problem(roster("a@x.com,Ann,Acme"))[1:] == (
        "role",
        "The role is missing: use employee, manager, hr or admin.",
    )


def test_an_unclosed_quote_is_reported_where_it_opens():
    line, _, message = only_problem(roster("a@x.com,Ann,Acme,employee,", 'b@x.com,"Bob,Acme,employee,', "c@x.com,C"))
    assert line == 3 and message.startswith("A double quote opened on this line is never closed")


def test_every_bad_row_is_reported_not_just_the_first():
    lines = [f"p{n}@x.com,P {n},Acme,{'boss' if n % 2 else 'employee'}," for n in range(3_000)]
    errors = roster_validate(content=roster(*lines)).errors
    assert len(errors) == 1_500
    assert [error.line for error in errors[:3]] == [3, 5, 7]


def test_a_row_can_have_several_problems():
    assert [(e.line, e.column) for e in roster_validate(content=roster("nope,,A//B,boss,")).errors] == [
        (2, "email"),
        (2, "name"),
        (2, "team"),
        (2, "role"),
    ]


def test_size_limits():
    sheet, errors = roster_read(b"x" * (MAX_BYTES + 1))
    assert sheet is None and errors[0].message == "The file is 20.0 MB; Pulse accepts files up to 20 MB."
    too_many = roster(*(f"p{n}@x.com,P,Acme,employee," for n in range(MAX_ROWS + 1)))
    line, _, message = only_problem(too_many)
    assert line == MAX_ROWS + 2 and message.startswith("The file has more than 100,000 people")


def test_the_example_file_offered_for_download_is_a_valid_roster(tenant):
    assert roster_validate(content=roster_example_csv(organization=tenant.org).encode()).ok


# Applying a valid file ------------------------------------------------------------------------


def test_a_valid_import_creates_teams_with_parents_people_and_leads(tenant, other_tenant):
    theirs = people(other_tenant)
    summary = apply(tenant, roster(*ACME), importer=tenant.hr)
    with tenant.scope():
        north = Team.objects.get(path="Acme/Sales/North")
        assert (north.name, north.parent.path, north.parent.parent.path) == ("North", "Acme/Sales", "Acme")
    assert people(tenant)["new@acme.test"] == ("New Person", "employee", "Acme/Sales/North", True)
    assert people(tenant)["lead@acme.test"] == ("Lee Lead", "manager", "Acme/Engineering", True)
    assert leads(tenant) == {("lead@acme.test", "Acme/Engineering"), ("lead@acme.test", "Acme/Engineering/Platform")}
    assert summary["people_created"] == 3 and summary["teams_created"] == 2
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
    assert summary["people_created"] == 0 and summary["people_deactivated"] == 0


def test_team_role_and_name_are_updated(tenant):
    apply(tenant, roster(*ACME))
    changed = [line for line in ACME if not line.startswith(("dev@", "new@", "lead@"))]
    changed += [
        "dev@acme.test,Devi One,Acme/Engineering/Platform,employee,",  # name
        "new@acme.test,New Person,Acme/Sales,employee,",  # team
        "lead@acme.test,Lee Lead,Acme/Engineering,hr,Acme/Engineering;Acme/Engineering/Platform",  # role
    ]
    summary = apply(tenant, roster(*changed))
    found = people(tenant)
    assert found["dev@acme.test"][0] == "Devi One"
    assert found["new@acme.test"][2] == "Acme/Sales"
    assert found["lead@acme.test"][1] == "hr"
    assert (summary["people_updated"], summary["people_unchanged"]) == (3, 2)


def test_manages_sets_exactly_the_teams_a_person_leads(tenant):
    apply(tenant, roster(*ACME))
    moved = [line for line in ACME if not line.startswith("lead@")]
    moved.append("lead@acme.test,Lee Lead,Acme/Engineering,manager,Acme/Sales")
    summary = apply(tenant, roster(*moved))
    assert leads(tenant) == {("lead@acme.test", "Acme/Sales")}
    assert (summary["leads_added"], summary["leads_removed"], summary["people_updated"]) == (1, 2, 1)


def test_teams_absent_from_the_file_are_kept(tenant):
    summary = apply(tenant, roster(*ACME))
    with tenant.scope():
        assert Team.objects.filter(path="Acme/Engineering/Product").exists()
    assert summary["teams_not_in_file"] == 1


def test_reimporting_the_same_file_changes_nothing(tenant):
    apply(tenant, roster(*ACME), importer=tenant.hr)
    before = (counts(), people(tenant), leads(tenant))
    with CaptureQueriesContext(connection) as queries:
        summary = apply(tenant, roster(*ACME), importer=tenant.hr)
    assert (counts(), people(tenant), leads(tenant)) == before
    assert {key: summary[key] for key in summary if key.startswith(("people_", "teams_created", "leads_"))} == {
        "people_created": 0,
        "people_updated": 0,
        "people_reactivated": 0,
        "people_deactivated": 0,
        "people_unchanged": 5,
        "teams_created": 0,
        "leads_added": 0,
        "leads_removed": 0,
    }
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []


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
        "The file gives you (line 6) the role employee. You kept the role HR: "
        "an import never takes HR rights from the person running it."
    ]
    apply(tenant, roster(*demoted), importer=tenant.admin)
    assert people(tenant)["hr@acme.test"][1] == "employee"


def test_the_importer_absent_from_the_file_keeps_their_leads(tenant):
    TeamManagement.all_organizations.create(organization=tenant.org, team=tenant.root, membership=tenant.hr)
    apply(tenant, roster(*[line for line in ACME if not line.startswith("hr@")]), importer=tenant.hr)
    assert ("hr@acme.test", "Acme") in leads(tenant)


def test_a_person_of_another_organisation_joins_without_leaving_it(tenant, other_tenant):
    apply(tenant, roster(*ACME, "employee@globex.test,Gus,Acme/Engineering,employee,"))
    assert people(tenant)["employee@globex.test"][3] is True
    assert people(other_tenant)["employee@globex.test"][3] is True
    assert User.objects.filter(email="employee@globex.test").count() == 1


# Running imports: nothing half-written, the task path, progress -------------------------------


def test_nothing_is_written_when_any_row_is_bad(tenant, other_tenant):
    before = counts()
    with tenant.scope():
        result = roster_import_start(
            organization=tenant.org,
            uploaded_by=tenant.hr,
            filename="roster.csv",
            content=roster(*ACME, "late@acme.test,Late,Acme,boss,"),
        )
    assert result.status == RosterImportStatus.FAILED
    assert result.errors == [
        {"line": 7, "column": "role", "message": "“boss” is not a role: use employee, manager, hr or admin."}
    ]
    assert counts() == before


def test_a_finished_import_keeps_its_report_but_not_the_file(tenant):
    with tenant.scope():
        result = roster_import_start(
            organization=tenant.org, uploaded_by=tenant.hr, filename="r.csv", content=roster(*ACME)
        )
        stored = RosterImport.objects.get(pk=result.pk)
    assert stored.status == RosterImportStatus.DONE and stored.finished_at
    assert bytes(stored.content) == b""
    assert stored.summary["people_created"] == 3 and stored.total_rows == stored.processed_rows == 5


def test_a_big_file_is_imported_by_the_task_after_commit_with_progress(tenant, django_capture_on_commit_callbacks):
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
    done = RosterImport.all_organizations.get(pk=started.pk)
    assert done.status == RosterImportStatus.DONE and done.total_rows == 4_500
    assert done.summary["people_created"] == 4_500
    assert people(tenant)["hr@acme.test"][3] is True  # the importer, absent from the file


def test_the_task_leaves_a_finished_import_alone(tenant):
    from surveys.tasks import roster_import_run

    with tenant.scope():
        done = roster_import_start(
            organization=tenant.org, uploaded_by=tenant.hr, filename="r.csv", content=roster(*ACME)
        )
    before = counts()
    roster_import_run.delay(done.pk)
    assert counts() == before


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
    assert RosterImport.all_organizations.get(pk=started.pk).status == RosterImportStatus.DONE


# The command ------------------------------------------------------------------------------


def test_the_command_imports_and_prints_the_summary(tenant, tmp_path, capsys):
    path = tmp_path / "roster.csv"
    path.write_bytes(roster(*ACME))
    call_command("import_roster", str(path), "--org", "acme", "--as", "HR@acme.test")
    out = capsys.readouterr().out
    assert "Imported 5 people into Acme." in out
    assert "People: 3 created, 2 updated, 0 reactivated, 2 deactivated, 0 unchanged." in out
    assert "Teams: 2 created, 1 kept but not in the file." in out
    assert RosterImport.all_organizations.get().uploaded_by == tenant.hr
    call_command("import_roster", str(path), "--org", "acme", "--as", "hr@acme.test")
    assert "People: 0 created, 0 updated, 0 reactivated, 0 deactivated, 5 unchanged." in capsys.readouterr().out


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
    call_command("import_roster", str(path), "--org", "acme", "--as", "hr@acme.test")
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


# The pages --------------------------------------------------------------------------------


def upload(client, content: bytes, name: str = "roster.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/o/acme/people/import/", {"file": SimpleUploadedFile(name, content, "text/csv")})


def test_hr_imports_a_file_and_sees_the_summary(tenant, other_tenant, login):
    client = login(tenant.hr)
    response = upload(client, roster(*ACME))
    imported = RosterImport.all_organizations.get()
    assert response.status_code == 302 and response["Location"] == f"/o/acme/people/import/{imported.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "The roster is imported." in page
    assert "people added" in page and "These columns were ignored" not in page
    assert people(tenant)["new@acme.test"][3] is True
    listing = client.get("/o/acme/people/import/").content.decode()
    assert "roster.csv" in listing and "Imported" in listing


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
    assert problems_csv["Content-Type"] == "text/csv"
    assert problems_csv.content.decode().splitlines()[1] == "7,email,“bad” is not a valid email address."


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
        "finished": False,
    }
    RosterImport.all_organizations.update(status=RosterImportStatus.VALIDATING, processed_rows=1000, total_rows=2500)
    assert "Checked 1,000 of 2,500 rows" in client.get(detail).content.decode()
    for callback in callbacks:
        callback()
    assert client.get(detail + "status/").json()["finished"] is True
    assert "The roster is imported." in client.get(detail).content.decode()


def test_the_people_page_shows_the_tree_with_counts_and_leads_and_finds_people(
    tenant, other_tenant, login, django_assert_num_queries
):
    client = login(tenant.hr)
    client.get("/o/acme/people/")  # warm the session
    with django_assert_num_queries(8):
        response = client.get("/o/acme/people/")
    page = response.content.decode()
    assert "Engineering" in page and "Platform" in page
    assert "employee@acme.test" in page and "globex" not in page
    tree = {node.team.path: node for node in response.context["tree"]}
    assert (tree["Acme"].members, tree["Acme"].subtree_members) == (2, 4)
    assert tree["Acme/Engineering"].leads == [tenant.manager.user.name]
    found = client.get("/o/acme/people/", {"q": "Platform"}).context["page"].object_list
    assert [m.user.email for m in found] == ["employee@acme.test"]
    apply(tenant, roster(*ACME, *(f"p{n}@acme.test,P {n},Acme/T{n % 7},manager,Acme/T{n % 7}" for n in range(60))))
    with django_assert_num_queries(8):  # more people, teams and leads: not more queries
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


def test_the_example_csv_downloads(tenant, login):
    response = login(tenant.hr).get("/o/acme/people/import/example.csv")
    assert response["Content-Disposition"] == 'attachment; filename="pulse-roster-example.csv"'
    assert response.content.decode().startswith(HEADER)


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


def test_hr_sees_people_in_the_navigation_and_employees_do_not(tenant, login):
    assert 'href="/o/acme/people/"' in login(tenant.hr).get("/o/acme/").content.decode()
    assert 'href="/o/acme/people/"' not in login(tenant.employee).get("/o/acme/").content.decode()


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
def test_any_valid_file_makes_the_organisation_match_it_and_a_second_run_changes_nothing(db, first, second, order):
    from tests.support.factories import OrganizationFactory

    org = OrganizationFactory()
    with organization_scope(org):
        for people in (first, second):
            check = roster_validate(content=_csv(people, order))
            assert check.ok, check.errors
            roster_apply(organization=org, rows=check.rows)
            again = roster_apply(organization=org, rows=check.rows)
            assert again["people_unchanged"] == len(people) and again["leads_added"] == again["leads_removed"] == 0
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
