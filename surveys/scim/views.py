"""The SCIM 2.0 service at /scim/v2/ (RFC 7644): an identity provider provisions an
organisation's people and teams with the organisation's bearer token.

Each endpoint is thin: scim2-models parses and checks the request (filters, PATCH operations,
resource payloads) and renders the answer; the roster services (`services.roster.provisioning`)
do the work, with the same plan, history and undo as imports. `scim_endpoint` authenticates,
scopes the request to the token's organisation, attributes what it changes in the audit log,
and turns every error into a SCIM Error resource."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError
from scim2_models import (
    Context,
    ListResponse,
    PatchOp,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    SearchRequest,
)

from surveys.access import access_scim_person, access_scim_team
from surveys.core.audit import audit_context
from surveys.core.exceptions import PulseError
from surveys.core.tenancy import scope_begin, scope_end
from surveys.models import Membership, ScimPerson, ScimTeam, ScimToken, Team
from surveys.scim.authentication import ScimAuthenticationError, scim_token_authenticate
from surveys.scim.errors import SCIM_TYPES, scim_error, scim_json
from surveys.scim.resources import (
    GROUP_POLICY,
    MAX_RESULTS,
    POLICY,
    PROVIDER,
    Group,
    User,
    person_fields,
    person_resource,
    team_fields,
    team_resource,
)
from surveys.selectors.provisioning import scim_people, scim_team_members, scim_teams
from surveys.services.roster.provisioning import (
    scim_person_create,
    scim_person_delete,
    scim_person_replace,
    scim_team_create,
    scim_team_delete,
    scim_team_replace,
)

logger = logging.getLogger(__name__)

#: The largest request body a SCIM endpoint reads (a Group with thousands of members fits).
MAX_BODY = 2 * 1024 * 1024


def scim_endpoint(methods: tuple[str, ...]) -> Callable:
    """Authenticate the bearer token, scope the request to its organisation for the view, and
    answer every error a client can cause as a SCIM Error."""

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @functools.wraps(view)
        def run(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                token = scim_token_authenticate(request)
            except ScimAuthenticationError as error:
                return scim_error(401, str(error), headers={"WWW-Authenticate": 'Bearer realm="Pulse SCIM"'})
            if request.method not in methods:
                return scim_error(
                    405, f"{request.path} does not take {request.method}.", headers={"Allow": ", ".join(methods)}
                )
            scope = scope_begin(token.organization)
            try:
                with audit_context(
                    via="scim", organization=token.organization_id, scim_token=token.prefix, scim_token_name=token.name
                ):
                    request.scim_token = token  # type: ignore[attr-defined]
                    with PROVIDER:
                        return view(request, *args, **kwargs)
            except Http404:
                return scim_error(404, "There is no such resource.")
            except SCIMException as error:
                return scim_error(error.status, error.detail, error.scim_type or None)
            except ValidationError as error:
                return scim_error(400, _validation_detail(error), _validation_type(error))
            except PulseError as error:
                scim_type = SCIM_TYPES.get(error.code, "invalidValue" if error.status == 400 else None)
                return scim_error(error.status, error.message, scim_type)
            except Exception:
                logger.exception("SCIM request failed: %s %s", request.method, request.path)
                return scim_error(500, "Something went wrong on Pulse's side, and nothing was changed.")
            finally:
                scope_end(scope)

        return run

    return decorate


def _validation_detail(error: ValidationError) -> str:
    problems = []
    for problem in error.errors()[:5]:
        where = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
        problems.append(f"{where}: {problem.get('msg', 'invalid')}" if where else str(problem.get("msg", "invalid")))
    return "; ".join(problems) or "The request is not valid SCIM."


def _validation_type(error: ValidationError) -> str:
    for problem in error.errors():
        scim_type = (problem.get("ctx") or {}).get("scim_type")
        if scim_type:
            return str(scim_type)
    return "invalidValue"


def _body(request: HttpRequest) -> dict:
    if len(request.body) > MAX_BODY:
        raise PulseError(
            f"The request is too large: at most {MAX_BODY // (1024 * 1024)} MB.", code="too_large", status=413
        )
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise PulseError("The body is not JSON.", code="syntax") from None
    if not isinstance(payload, dict):
        raise PulseError("The body must be a JSON object.", code="syntax")
    return payload


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/scim/v2").rstrip("/")


def _link(membership: Membership) -> ScimPerson | None:
    try:
        return membership.scim
    except ScimPerson.DoesNotExist:
        return None


def _user(request: HttpRequest, membership: Membership) -> User:
    return person_resource(membership, _link(membership), _base(request))


def _listed(request: HttpRequest, query: dict, model: type = User) -> HttpResponse:
    search = SearchRequest[model].model_validate(query, scim_ctx=Context.SEARCH_REQUEST)  # type: ignore[valid-type]
    if model is User:
        resources: list = [_user(request, membership) for membership in scim_people(filter_hint=search.filter)]
    else:
        teams = list(scim_teams(filter_hint=search.filter))
        members = scim_team_members([team.pk for team in teams])
        resources = [_group(request, team, members[team.pk]) for team in teams]
    if search.filter is not None:
        resources = [resource for resource in resources if search.filter.match(resource)]
    start = search.start_index or 1
    count = MAX_RESULTS if search.count is None else max(0, min(search.count, MAX_RESULTS))
    page = resources[start - 1 : start - 1 + count]
    listed = ListResponse[model](  # type: ignore[valid-type]
        total_results=len(resources), start_index=start, items_per_page=len(page), resources=page
    )
    return scim_json(listed.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=search))


def _one(request: HttpRequest, resource, *, status: int = 200, ctx: Context = Context.RESOURCE_QUERY_RESPONSE):
    query = _query(request)
    query.pop("filter", None), query.pop("startIndex", None), query.pop("count", None)
    parameters = ResponseParameters[type(resource)].model_validate(query, scim_ctx=Context.RESOURCE_QUERY_REQUEST)  # type: ignore[misc]
    headers = {"Location": resource.meta.location} if status == 201 and resource.meta else None
    return scim_json(resource.model_dump(scim_ctx=ctx, response_parameters=parameters), status=status, headers=headers)


@scim_endpoint(("GET", "POST"))
def users(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _listed(request, _query(request))
    resource = User.model_validate(_body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY)
    outcome = scim_person_create(
        organization=request.scim_token.organization,  # type: ignore[attr-defined]
        token=request.scim_token,  # type: ignore[attr-defined]
        fields=person_fields(resource, creating=True),
    )
    created = access_scim_person(resource_id=str(outcome.membership.pk))
    return _one(request, _user(request, created), status=201, ctx=Context.RESOURCE_CREATION_RESPONSE)


@scim_endpoint(("POST",))
def users_search(request: HttpRequest) -> HttpResponse:
    return _listed(request, _body(request))


@scim_endpoint(("GET", "PUT", "PATCH", "DELETE"))
def user(request: HttpRequest, resource_id: str) -> HttpResponse:
    membership = access_scim_person(resource_id=resource_id)
    token: ScimToken = request.scim_token  # type: ignore[attr-defined]
    if request.method == "GET":
        return _one(request, _user(request, membership))
    if request.method == "DELETE":
        scim_person_delete(membership=membership, token=token)
        return HttpResponse(status=204)
    current = _user(request, membership)
    if request.method == "PUT":
        resource = User.model_validate(
            _body(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY
        )
        if resource.emails is None:  # immutable, and left out: the address stays as it is
            resource.emails = current.emails
    else:
        patch = PatchOp[User].model_validate(
            _body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
        resource = current.model_copy(deep=True)
        patch.patch(resource, scim_policy=POLICY)
    scim_person_replace(membership=membership, token=token, fields=person_fields(resource))
    updated = access_scim_person(resource_id=resource_id)
    ctx = Context.RESOURCE_REPLACEMENT_RESPONSE if request.method == "PUT" else Context.RESOURCE_PATCH_RESPONSE
    return _one(request, _user(request, updated), ctx=ctx)


def _group(request: HttpRequest, team: Team, members: list[Membership]) -> Group:
    try:
        link = team.scim
    except ScimTeam.DoesNotExist:
        link = None
    return team_resource(team, link, members, _base(request))


def _group_of(request: HttpRequest, team: Team) -> Group:
    return _group(request, team, scim_team_members([team.pk])[team.pk])


@scim_endpoint(("GET", "POST"))
def groups(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _listed(request, _query(request), Group)
    resource = Group.model_validate(
        _body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=GROUP_POLICY
    )
    team = scim_team_create(
        organization=request.scim_token.organization,  # type: ignore[attr-defined]
        token=request.scim_token,  # type: ignore[attr-defined]
        fields=team_fields(resource),
    )
    created = access_scim_team(resource_id=str(team.pk))
    return _one(request, _group_of(request, created), status=201, ctx=Context.RESOURCE_CREATION_RESPONSE)


@scim_endpoint(("POST",))
def groups_search(request: HttpRequest) -> HttpResponse:
    return _listed(request, _body(request), Group)


@scim_endpoint(("GET", "PUT", "PATCH", "DELETE"))
def group(request: HttpRequest, resource_id: str) -> HttpResponse:
    team = access_scim_team(resource_id=resource_id)
    token: ScimToken = request.scim_token  # type: ignore[attr-defined]
    if request.method == "GET":
        return _one(request, _group_of(request, team))
    if request.method == "DELETE":
        scim_team_delete(team=team, token=token)
        return HttpResponse(status=204)
    current = _group_of(request, team)
    if request.method == "PUT":
        resource = Group.model_validate(
            _body(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=GROUP_POLICY
        )
    else:
        patch = PatchOp[Group].model_validate(
            _body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=GROUP_POLICY
        )
        resource = current.model_copy(deep=True)
        patch.patch(resource, scim_policy=GROUP_POLICY)
    scim_team_replace(team=team, token=token, fields=team_fields(resource))
    updated = access_scim_team(resource_id=resource_id)
    ctx = Context.RESOURCE_REPLACEMENT_RESPONSE if request.method == "PUT" else Context.RESOURCE_PATCH_RESPONSE
    return _one(request, _group_of(request, updated), ctx=ctx)


def _query(request: HttpRequest) -> dict:
    query: dict[str, Any] = {}
    for key in ("filter", "startIndex", "count"):
        if key in request.GET:
            query[key] = request.GET[key]
    for key in ("attributes", "excludedAttributes"):
        values = [part for value in request.GET.getlist(key) for part in value.split(",") if part]
        if values:
            query[key] = values
    return query


@scim_endpoint(("POST",))
def search_everything(request: HttpRequest) -> HttpResponse:
    """A search across resource types (RFC 7644 §3.4.3, optional): not implemented."""
    return scim_error(501, "Search Users and Groups apart: POST /Users/.search or /Groups/.search.")


@scim_endpoint(("GET",))
def service_provider_config(request: HttpRequest) -> HttpResponse:
    config = PROVIDER.config
    assert config is not None
    config = config.model_copy(update={"meta": None})
    return scim_json(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@scim_endpoint(("GET",))
def resource_types(request: HttpRequest, resource_id: str | None = None) -> HttpResponse:
    found = [
        resource_type.model_copy(update={"meta": _meta(request, "ResourceType", f"ResourceTypes/{resource_type.id}")})
        for resource_type in PROVIDER.resource_types
    ]
    return _discovery(request, found, resource_id, ResourceType)


@scim_endpoint(("GET",))
def schemas(request: HttpRequest, resource_id: str | None = None) -> HttpResponse:
    found = [
        schema.model_copy(update={"meta": _meta(request, "Schema", f"Schemas/{schema.id}")})
        for schema in PROVIDER.schemas
    ]
    return _discovery(request, found, resource_id, Schema)


def _meta(request: HttpRequest, kind: str, path: str) -> dict:
    from scim2_models import Meta

    return Meta(resource_type=kind, location=f"{_base(request)}/{path}")  # type: ignore[return-value]


def _discovery(request: HttpRequest, found: list, resource_id: str | None, model: type) -> HttpResponse:
    if resource_id is not None:
        for item in found:
            if str(item.id) == resource_id:
                return scim_json(item.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
        raise Http404
    listed = ListResponse[model](  # type: ignore[valid-type]
        total_results=len(found), start_index=1, items_per_page=len(found), resources=found
    )
    return scim_json(listed.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
