"""SCIM 2.0 Groups are teams (displayName is the path): created, renamed, moved and emptied
through the roster plan, members moved in and out, tenant isolation, bad input."""

import pytest

from surveys.models import Membership, RosterChange, RosterChangeKind, Team
from surveys.services.roster import roster_change_undo
from tests.test_scim_users import PATCH_SCHEMA, assert_scim_error
from tests.test_scim_users import scim as scim  # the fixture

GROUPS = "/scim/v2/Groups"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


def group(name: str, *member_ids, **extra) -> dict:
    return {
        "schemas": [GROUP_SCHEMA],
        "displayName": name,
        "members": [{"value": str(pk)} for pk in member_ids],
        **extra,
    }


def test_a_group_is_a_team_whose_members_move_into_it_undoably(scim, tenant):
    created = scim("POST", GROUPS, group("Acme/Engineering/Data", tenant.employee.pk, externalId="g-1"))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["displayName"] == "Acme/Engineering/Data" and body["externalId"] == "g-1"
    assert [m["value"] for m in body["members"]] == [str(tenant.employee.pk)]
    with tenant.scope():
        data = Team.objects.get(path="Acme/Engineering/Data")
        assert data.parent_id == tenant.engineering.pk and str(data.pk) == body["id"]
        employee = Membership.objects.get(pk=tenant.employee.pk)
        assert (employee.team_id, employee.role) == (data.pk, "employee")
    user = scim("GET", f"/scim/v2/Users/{tenant.employee.pk}").json()
    assert user["groups"][0]["value"] == body["id"] and user["groups"][0]["display"] == "Acme/Engineering/Data"
    with tenant.scope():
        change = RosterChange.objects.get(kind=RosterChangeKind.SCIM)
        roster_change_undo(change=change, actor=tenant.hr)
        assert Membership.objects.get(pk=tenant.employee.pk).team_id == tenant.platform.pk
        assert not Team.objects.filter(path="Acme/Engineering/Data").exists()


def test_patch_adds_and_removes_members_and_put_renames(scim, tenant):
    platform = f"{GROUPS}/{tenant.platform.pk}"
    added = scim(
        "PATCH",
        platform,
        {
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": str(tenant.hr.pk)}]}],
        },
    )
    assert added.status_code == 200, added.content
    assert {m["value"] for m in added.json()["members"]} == {str(tenant.employee.pk), str(tenant.hr.pk)}
    removed = scim(
        "PATCH",
        platform,
        {
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "remove", "path": f'members[value eq "{tenant.employee.pk}"]'}],
        },
    )
    assert [m["value"] for m in removed.json()["members"]] == [str(tenant.hr.pk)]
    renamed = scim("PUT", platform, group("Acme/Engineering/Infrastructure", tenant.hr.pk))
    assert renamed.status_code == 200 and renamed.json()["displayName"] == "Acme/Engineering/Infrastructure"
    with tenant.scope():
        assert Membership.objects.get(pk=tenant.employee.pk).team_id is None  # left the group: no team
        hr = Membership.objects.get(pk=tenant.hr.pk)
        assert (hr.team_id, hr.role) == (tenant.platform.pk, "hr")  # moved in, role kept
        assert Team.objects.get(pk=tenant.platform.pk).path == "Acme/Engineering/Infrastructure"
    found = scim("GET", f'{GROUPS}?filter=displayName eq "acme/engineering/infrastructure"').json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == str(tenant.platform.pk)


def test_deleting_a_group_empties_the_team_and_hides_it_from_scim(scim, tenant):
    url = f"{GROUPS}/{tenant.platform.pk}"
    assert scim("DELETE", url).status_code == 204
    assert_scim_error(scim("GET", url), 404)
    with tenant.scope():
        assert Team.objects.filter(pk=tenant.platform.pk).exists()  # rounds may have used it
        assert Membership.objects.get(pk=tenant.employee.pk).team_id is None
    assert scim("POST", GROUPS, group("Acme/Engineering/Platform")).status_code == 201  # back again


def test_groups_of_another_organisation_are_out_of_reach(scim, tenant, other_tenant):
    theirs = f"{GROUPS}/{other_tenant.platform.pk}"
    assert_scim_error(scim("GET", theirs), 404)
    assert_scim_error(scim("PUT", theirs, group("Taken")), 404)
    assert_scim_error(scim("DELETE", theirs), 404)
    assert_scim_error(scim("POST", GROUPS, group("Acme/Stolen", other_tenant.employee.pk)), 400, "invalidValue")
    listed = scim("GET", GROUPS).json()
    assert all(r["displayName"].startswith("Acme") for r in listed["Resources"])
    with other_tenant.scope():
        assert Membership.objects.get(pk=other_tenant.employee.pk).team_id == other_tenant.platform.pk


@pytest.mark.parametrize(
    ("payload", "status", "scim_type"),
    [
        (group(""), 400, "invalidValue"),
        (group("Acme//Data"), 400, "invalidValue"),
        (group("Acme/Engineering"), 409, "uniqueness"),
        (group("Acme/New", "abc"), 400, "invalidValue"),
        (group("Acme/New", members=[{"value": "1", "type": "Group"}]), 400, "invalidValue"),
        ({"schemas": [GROUP_SCHEMA], "members": "everyone"}, 400, "invalidValue"),
    ],
)
def test_bad_groups_get_scim_errors_and_change_nothing(scim, tenant, payload, status, scim_type):
    with tenant.scope():
        teams = Team.objects.count()
    assert_scim_error(scim("POST", GROUPS, payload), status, scim_type)
    with tenant.scope():
        assert Team.objects.count() == teams and not RosterChange.objects.exists()


def test_moving_a_group_under_a_team_that_does_not_exist_is_refused(scim, tenant):
    assert_scim_error(scim("PUT", f"{GROUPS}/{tenant.product.pk}", group("Nowhere/Product")), 400, "invalidValue")
    with tenant.scope():
        assert Team.objects.get(pk=tenant.product.pk).path == "Acme/Engineering/Product"
