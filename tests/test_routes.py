"""Every page under /o/<org_slug>/ is checked here for tenancy and roles, generically: a new
page is covered as soon as it is added to surveys/urls.py (and must declare its roles)."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from surveys.models import Role
from tests.support.objects import URL_OBJECTS, populate

PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def _walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


ORG_ROUTES = [(route, p) for route, p in _walk(get_resolver().url_patterns) if "<slug:org_slug>" in route]
ORG_ROUTES_WITH_IDS = [(route, p) for route, p in ORG_ROUTES if len(PARAM.findall(route)) > 1]


def _url(route: str, slug: str, objects: dict) -> str:
    def fill(match):
        name = match["name"]
        if name == "org_slug":
            return slug
        if name not in objects:
            raise AssertionError(f"Add a URL_OBJECTS entry in tests/objects.py for <{name}> in {route}")
        return str(objects[name])

    return "/" + PARAM.sub(fill, route)


def _ids(tenant) -> dict:
    objects = populate(tenant)
    return {name: pick(tenant, objects) for name, pick in URL_OBJECTS.items()}


def _route_id(item):
    return item[1].name or item[0]


def test_every_organization_page_declares_its_roles():
    assert ORG_ROUTES, "no organisation pages found"
    for route, pattern in ORG_ROUTES:
        roles = getattr(pattern.callback, "required_roles", None)
        assert roles, f"{route} must be decorated with access.role_required(...)"
        assert roles <= set(Role.values)


@pytest.mark.parametrize("route_pattern", ORG_ROUTES, ids=_route_id)
def test_another_organizations_pages_are_404_like_a_missing_one(route_pattern, tenant, other_tenant, login):
    route, _ = route_pattern
    theirs = _url(route, other_tenant.org.slug, _ids(other_tenant))
    missing = _url(route, "no-such-org", _ids(tenant))
    for membership in (tenant.employee, tenant.manager, tenant.hr, tenant.admin):
        client = login(membership)
        for url in (theirs, missing):
            assert client.get(url).status_code == 404, (membership.role, url)
            assert client.post(url, {}).status_code == 404, (membership.role, url)


@pytest.mark.parametrize("route_pattern", ORG_ROUTES_WITH_IDS, ids=_route_id)
def test_another_organizations_objects_are_404_inside_ones_own_organization(route_pattern, tenant, other_tenant, login):
    route, _ = route_pattern
    own_ids, their_ids = _ids(tenant), _ids(other_tenant)
    mixed = _url(route, tenant.org.slug, their_ids)
    assert mixed != _url(route, tenant.org.slug, own_ids)
    client = login(tenant.admin)
    assert client.get(mixed).status_code == 404, mixed


#: Pages that exist only under some settings: the demo's channel outbox (DEBUG, a local stand-in;
#: nothing listens on the discard port, so the page says the stand-in is not running).
ROUTE_SETTINGS = {"channel_outbox": {"DEBUG": True, "SLACK_API_URL": "http://127.0.0.1:9/api/"}}


@pytest.mark.parametrize("route_pattern", ORG_ROUTES, ids=_route_id)
def test_each_role_reaches_exactly_its_pages(route_pattern, tenant, other_tenant, login, settings):
    route, pattern = route_pattern
    for name, value in ROUTE_SETTINGS.get(pattern.name or "", {}).items():
        setattr(settings, name, value)
    url = _url(route, tenant.org.slug, _ids(tenant))
    allowed = pattern.callback.required_roles
    for membership in (tenant.employee, tenant.manager, tenant.hr, tenant.admin):
        status = login(membership).get(url).status_code
        if membership.role in allowed:
            assert status not in (403, 404, 500), (membership.role, url, status)
        else:
            assert status == 403, (membership.role, url, status)


@pytest.mark.parametrize("route_pattern", ORG_ROUTES, ids=_route_id)
def test_anonymous_visitors_are_sent_to_sign_in_for_any_slug(route_pattern, client, tenant):
    route, _ = route_pattern
    for slug in (tenant.org.slug, "no-such-org"):
        response = client.get(_url(route, slug, _ids(tenant)))
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
