"""Reading and checking a roster file (pure: no database): every rule, with its line."""

import pytest

from surveys.core.csv_cells import safe_cell
from surveys.services.roster_file import MAX_BYTES, MAX_ROWS, roster_read, roster_validate
from tests.support.roster import HEADER, roster


def problems(content: bytes) -> list[tuple[int, str]]:
    return [(error.line, error.message) for error in roster_validate(content=content).errors]


def only_problem(content: bytes) -> tuple[int, str, str]:
    errors = roster_validate(content=content).errors
    assert len(errors) == 1, errors
    return errors[0].line, errors[0].column, errors[0].message


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


def test_every_row_with_a_team_spelled_the_other_way_is_reported():
    content = roster(
        "a@x.com,Ann,Acme/Engineering,employee,",
        "b@x.com,Bob,Acme/engineering,employee,",
        "c@x.com,Cat,Acme/Engineering,employee,",
        "d@x.com,Dan,Acme/engineering,employee,",
    )
    check = roster_validate(content=content)
    assert [(error.line, error.column) for error in check.errors] == [(3, "team"), (5, "team")]


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
    # A note (an ignored column) may hold a line break; a name may not.
    content = (HEADER + ',note\n\na@x.com,Ann,Acme,employee,,"two\nlines"\n\nb@x.com,Bob,Acme,chief,,\n').encode()
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


@pytest.mark.parametrize("name", ["Ann\nAnderson", "Ann\rAnderson", "Ann\u2028Anderson"])
def test_a_line_break_in_a_name_is_refused(name):
    content = roster(f'a@x.com,"{name}",Acme,employee,')
    assert only_problem(content) == (2, "name", "A name must fit on one line: remove the line break.")


def test_a_control_character_in_a_name_or_a_team_is_refused():
    assert only_problem(roster("a@x.com,Ann\x07,Acme,employee,")) == (
        2,
        "name",
        "A name cannot contain the control character U+0007.",
    )
    assert only_problem(roster("a@x.com,Ann,Acme/Eng\x1b,employee,")) == (
        2,
        "team",
        "A team name cannot contain a line break or another control character.",
    )


@pytest.mark.parametrize("value", ["=HYPERLINK(1)", "+1", "-1", "@SUM(A1)"])
def test_a_cell_made_safe_for_spreadsheets_reads_back_as_it_was(value):
    content = roster(f"a@x.com,{safe_cell(value)},{safe_cell(value)},employee,")
    check = roster_validate(content=content)
    assert check.ok, check.errors
    assert (check.rows[0].name, check.rows[0].team) == (value, value)


def test_an_apostrophe_before_anything_else_is_kept():
    check = roster_validate(content=roster("a@x.com,'Tis Ann,Acme,employee,"))
    assert check.rows[0].name == "'Tis Ann"
