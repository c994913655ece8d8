"""SCIM 2.0 Users at /scim/v2/ (surveys/scim/): a bearer token per organisation, people added,
updated, deactivated and deleted through the roster plan (history, undo), deactivations held
past the import's threshold, tenant isolation, and a SCIM Error for every bad request."""

import json

import pytest

from surveys.models import (
    HeldDeactivationStatus,
    Membership,
    RosterChange,
    RosterChangeKind,
    ScimHeldDeactivation,
    ScimPerson,
    ScimToken,
    ScimTokenEvent,
)
from surveys.services.roster import roster_change_undo
from surveys.services.scim_tokens import scim_token_create, scim_token_revoke
from tests.support.factories import MembershipFactory

USERS = "/scim/v2/Users"
SCIM = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def new_token(tenant, name="Okta") -> str:
    with tenant.scope():
        _, secret = scim_token_create(organization=tenant.org, created_by=tenant.hr, name=name)
    return secret


@pytest.fixture
def scim(client, tenant):
    secret = new_token(tenant)

    def call(method: str, path: str, body=None, *, token: str | None = None, raw: bytes | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token or secret}"}
        kwargs = {"content_type": SCIM, "data": data} if data is not None else {}
        return getattr(client, method.lower())(path, **kwargs, **headers)

    call.secret = secret
    return call


def ada(**extra) -> dict:
    return {
        "schemas": [USER_SCHEMA],
        "userName": "ada.lovelace",
        "externalId": "00u1",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": "Ada@Acme.test", "type": "work", "primary": True}],
        "active": True,
        **extra,
    }


def patch(*operations) -> dict:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def assert_scim_error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(SCIM)
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA] and body["status"] == str(status) and body["detail"]
    assert body.get("scimType") == scim_type
    return body


def test_a_user_created_over_scim_joins_the_roster_through_the_plan_and_can_be_undone(scim, tenant):
    created = scim("POST", USERS, ada())
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["userName"] == "ada.lovelace" and body["externalId"] == "00u1" and body["active"] is True
    assert body["emails"][0]["value"] == "ada@acme.test" and body["name"]["formatted"] == "Ada Lovelace"
    assert created["Location"].endswith(f"/scim/v2/Users/{body['id']}")
    with tenant.scope():
        membership = Membership.objects.select_related("user").get(pk=int(body["id"]))
        assert (membership.user.name, membership.role, membership.team_id) == ("Ada Lovelace", "employee", None)
        change = RosterChange.objects.get(kind=RosterChangeKind.SCIM)
        assert "Identity provider (SCIM, token “Okta”) added ada@acme.test" in change.summary
        roster_change_undo(change=change, actor=tenant.hr)
        assert not Membership.objects.filter(pk=membership.pk).exists()
    assert scim("GET", f"{USERS}/{body['id']}").status_code == 404


def test_users_are_found_by_username_and_a_roster_person_by_their_address(scim, tenant):
    scim("POST", USERS, ada())
    found = scim("GET", f'{USERS}?filter=userName eq "ADA.lovelace"').json()
    assert found["totalResults"] == 1 and found["Resources"][0]["userName"] == "ada.lovelace"
    # Someone imported before SCIM was connected: their userName is their address, so the
    # identity provider finds and links them instead of creating them twice.
    listed = scim("GET", f'{USERS}?filter=userName eq "employee@acme.test"').json()
    assert listed["totalResults"] == 1 and listed["Resources"][0]["id"] == str(tenant.employee.pk)
    assert listed["Resources"][0]["groups"][0]["display"] == "Acme/Engineering/Platform"
    assert_scim_error(scim("POST", USERS, ada(userName="employee@acme.test")), 409, "uniqueness")
    everyone = scim("GET", f"{USERS}?startIndex=2&count=2").json()
    assert everyone["totalResults"] == 5 and everyone["startIndex"] == 2 and len(everyone["Resources"]) == 2


def test_patch_renames_and_deactivates_through_the_plan_and_a_role_never_changes(scim, tenant):
    manager_id = str(tenant.manager.pk)
    renamed = scim(
        "PATCH", f"{USERS}/{manager_id}", patch({"op": "replace", "path": "name.formatted", "value": "Max Mustermann"})
    )
    assert renamed.status_code == 200, renamed.content
    assert renamed.json()["name"]["formatted"] == "Max Mustermann"
    off = scim("PATCH", f"{USERS}/{manager_id}", patch({"op": "replace", "value": {"active": False}}))
    assert off.status_code == 200 and off.json()["active"] is False
    with tenant.scope():
        manager = Membership.objects.select_related("user").get(pk=tenant.manager.pk)
        assert (manager.user.name, manager.is_active, manager.role) == ("Max Mustermann", False, "manager")
        assert not manager.management.exists()  # deactivated people lead nothing, as in an import
        deactivation = RosterChange.objects.filter(kind=RosterChangeKind.SCIM).first()
        roster_change_undo(change=deactivation, actor=tenant.hr)
        manager.refresh_from_db()
        assert manager.is_active and manager.management.exists()


def test_delete_deactivates_and_the_resource_is_gone_until_created_again(scim, tenant):
    employee = str(tenant.employee.pk)
    assert scim("DELETE", f"{USERS}/{employee}").status_code == 204
    assert_scim_error(scim("GET", f"{USERS}/{employee}"), 404)
    assert scim("GET", f'{USERS}?filter=userName eq "employee@acme.test"').json()["totalResults"] == 0
    with tenant.scope():
        assert not Membership.objects.get(pk=tenant.employee.pk).is_active
    back = scim("POST", USERS, ada(userName="employee@acme.test", emails=[{"value": "employee@acme.test"}]))
    assert back.status_code == 201 and back.json()["id"] == employee and back.json()["active"] is True
    with tenant.scope():
        assert Membership.objects.get(pk=tenant.employee.pk).team_id == tenant.platform.pk  # kept their team


def test_a_burst_of_deactivations_is_held_for_hr_past_the_imports_threshold(scim, tenant):
    with tenant.scope():
        extra = [MembershipFactory(organization=tenant.org, team=tenant.product) for _ in range(10)]
    # 14 active people: one in ten is allowed in a day, the next waits for HR.
    first = scim("PATCH", f"{USERS}/{extra[0].pk}", patch({"op": "replace", "path": "active", "value": False}))
    assert first.json()["active"] is False
    second = scim("PATCH", f"{USERS}/{extra[1].pk}", patch({"op": "replace", "path": "active", "value": False}))
    assert second.status_code == 200 and second.json()["active"] is True  # held: still active
    assert scim("DELETE", f"{USERS}/{extra[2].pk}").status_code == 204
    with tenant.scope():
        held = list(ScimHeldDeactivation.objects.filter(status=HeldDeactivationStatus.HELD))
        assert {h.membership_id for h in held} == {extra[1].pk, extra[2].pk}
        assert Membership.objects.get(pk=extra[2].pk).is_active
    # Asked again, the same deactivation is not held twice.
    scim("PATCH", f"{USERS}/{extra[1].pk}", patch({"op": "replace", "path": "active", "value": False}))
    with tenant.scope():
        assert ScimHeldDeactivation.objects.filter(status=HeldDeactivationStatus.HELD).count() == 2


def test_a_token_reaches_its_own_organisation_only(scim, tenant, other_tenant):
    theirs = str(other_tenant.employee.pk)
    mine = assert_scim_error(scim("GET", f"{USERS}/{theirs}"), 404)
    assert assert_scim_error(scim("GET", f"{USERS}/99999999"), 404) == mine  # same answer as missing
    assert_scim_error(
        scim("PATCH", f"{USERS}/{theirs}", patch({"op": "replace", "path": "active", "value": False})), 404
    )
    assert_scim_error(scim("DELETE", f"{USERS}/{theirs}"), 404)
    listed = scim("GET", f'{USERS}?filter=userName eq "employee@globex.test"').json()
    assert listed["totalResults"] == 0
    assert all("globex" not in r["userName"] for r in scim("GET", USERS).json()["Resources"])
    with other_tenant.scope():
        assert Membership.objects.get(pk=other_tenant.employee.pk).is_active
    other_secret = new_token(other_tenant)
    assert scim("GET", f"{USERS}/{tenant.employee.pk}", token=other_secret).status_code == 404


def test_tokens_missing_wrong_or_revoked_are_refused_with_a_scim_401(scim, tenant, client):
    assert_scim_error(client.get(USERS), 401)
    assert_scim_error(scim("GET", USERS, token="pulse_scim_00000000.nope"), 401)
    assert_scim_error(scim("GET", USERS, token=scim.secret[:-2] + "xx"), 401)
    with tenant.scope():
        token = ScimToken.objects.get()
        scim_token_revoke(token=token)
    assert_scim_error(scim("GET", USERS), 401)


def test_bad_requests_get_scim_errors_never_a_500(scim, tenant):
    assert_scim_error(scim("POST", USERS, raw=b"{not json"), 400, "invalidSyntax")
    assert_scim_error(scim("POST", USERS, raw=b"[1, 2]"), 400, "invalidSyntax")
    assert_scim_error(scim("POST", USERS, {"schemas": [USER_SCHEMA]}), 400, "invalidValue")
    assert_scim_error(scim("POST", USERS, ada(emails=[{"value": "not an address"}])), 400, "invalidValue")
    assert_scim_error(scim("POST", USERS, ada(userName="x" * 300)), 400, "invalidValue")
    assert_scim_error(scim("POST", USERS, ada(name={"formatted": "Ada\nLovelace"})), 400, "invalidValue")
    assert_scim_error(scim("GET", f"{USERS}?filter=userName eq"), 400, "invalidFilter")
    assert_scim_error(scim("GET", f"{USERS}?filter=nope eq 1 and"), 400, "invalidFilter")
    assert_scim_error(scim("GET", f"{USERS}/abc"), 404)
    user_id = scim("POST", USERS, ada()).json()["id"]
    assert_scim_error(scim("PATCH", f"{USERS}/{user_id}", {"Operations": "x"}), 400, "invalidValue")
    assert_scim_error(
        scim("PATCH", f"{USERS}/{user_id}", patch({"op": "launch", "path": "active"})), 400, "invalidValue"
    )
    assert_scim_error(
        scim("PATCH", f"{USERS}/{user_id}", patch({"op": "replace", "path": "emails", "value": [{"value": "b@c.de"}]})),
        400,
        "mutability",
    )
    assert_scim_error(scim("PUT", f"{USERS}/{user_id}", ada(emails=[{"value": "other@acme.test"}])), 400, "mutability")
    assert_scim_error(scim("PUT", USERS, ada()), 405)
    assert_scim_error(scim("GET", "/scim/v2/Nothing"), 404)
    assert_scim_error(scim("GET", "/scim/v1/Users"), 404)
    with tenant.scope():
        assert ScimPerson.objects.count() == 1  # nothing of the refused requests was kept


def test_discovery_documents_describe_what_pulse_supports(scim):
    config = scim("GET", "/scim/v2/ServiceProviderConfig").json()
    assert config["patch"]["supported"] is True and config["bulk"]["supported"] is False
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = scim("GET", "/scim/v2/ResourceTypes").json()
    assert {t["name"] for t in types["Resources"]} >= {"User"}
    schema = scim("GET", f"/scim/v2/Schemas/{USER_SCHEMA}").json()
    names = {attribute["name"] for attribute in schema["attributes"]}
    assert {"userName", "name", "emails", "active"} <= names and "phoneNumbers" not in names


def test_token_creation_and_revocation_are_in_the_audit_log(tenant):
    secret = new_token(tenant, name="Entra ID")
    with tenant.scope():
        token = ScimToken.objects.get()
        assert token.hashed != secret and secret not in json.dumps(list(ScimToken.objects.values()), default=str)
        scim_token_revoke(token=token)
        labels = list(ScimTokenEvent.objects.order_by("pgh_id").values_list("pgh_label", flat=True))
    assert labels == ["created", "changed"]


def test_no_token_reaches_a_log(scim, tenant, caplog):
    caplog.set_level("DEBUG")
    scim("GET", USERS)
    scim("GET", f"{USERS}/99999999")
    scim("POST", USERS, raw=b"{not json")
    scim("GET", USERS, token=scim.secret + "x")
    with tenant.scope():
        scim_token_revoke(token=ScimToken.objects.get())
    scim("GET", USERS)
    logged = caplog.text + " ".join(str(record.__dict__) for record in caplog.records)
    assert caplog.records and scim.secret not in logged and scim.secret.partition(".")[2] not in logged
