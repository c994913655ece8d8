"""Who is calling the API, for which organisation, allowed to do what.

An API key belongs to one organisation and sees all of its results and roster (read), and
imports rosters when it may write. A signed-in person uses their membership: HR and admins
as a key that may write; a manager only the results of the teams they lead and below, and
no roster. The organisation is the key's, or the person's (the `organization` parameter
chooses among several); it is never taken from anything else in the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions, permissions, throttling

from surveys.access import visible_teams
from surveys.core.audit import audit_context_add
from surveys.core.cross_lookups import api_key_organization
from surveys.core.tenancy import across_organizations, organization_scope, scope_begin
from surveys.models import HR_ROLES, MANAGER_ROLES, ApiKey, Membership, Organization, Team

#: last_used_at is written at most this often per key (not on every request).
LAST_USED_EVERY = 60
KEY_HEADER = "Api-Key"


class KeyHolder:
    """`request.user` for a request made with an API key: authenticated, no person."""

    is_authenticated = True
    is_anonymous = False
    pk = None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <key>`. An unknown, revoked or expired key is a 401."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _space, key = header.partition(" ")
        if scheme != KEY_HEADER:
            return None
        key = key.strip()
        # The key is what establishes the scope: its prefix names its organisation
        # (core.cross_lookups), in whose scope the key itself is checked.
        organization = Organization.objects.filter(pk=api_key_organization(key.partition(".")[0])).first()
        if organization is None:
            raise exceptions.AuthenticationFailed(_("This API key is not valid."), code="invalid_key")
        try:
            with organization_scope(organization):
                api_key = cast(ApiKey, ApiKey.objects.get_from_key(key))
        except ApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("This API key is not valid."), code="invalid_key") from None
        api_key.organization = organization
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed(_("This API key has expired."), code="expired_key")
        if not api_key.organization.is_active:
            raise exceptions.AuthenticationFailed(_("This API key's organisation is closed."), code="invalid_key")
        now = timezone.now()
        if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > LAST_USED_EVERY:
            with organization_scope(organization):
                ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return KeyHolder(), api_key

    def authenticate_header(self, request) -> str:
        return KEY_HEADER


class OrganizationRequired(exceptions.APIException):
    status_code = 400
    default_detail = "You belong to several organisations: give the organization parameter (its slug)."
    default_code = "organization_required"


@dataclass(frozen=True)
class ApiClient:
    organization: Organization
    key: ApiKey | None = None
    membership: Membership | None = None

    @property
    def is_hr(self) -> bool:
        return self.key is not None or (self.membership is not None and self.membership.role in HR_ROLES)

    @property
    def may_write(self) -> bool:
        return self.key.may_write if self.key is not None else self.is_hr

    @property
    def throttle_id(self) -> str:
        return f"key:{self.key.pk}" if self.key is not None else f"member:{self.membership.pk}"  # type: ignore[union-attr]

    @property
    def audit_actor(self) -> dict[str, object]:
        """Who the audit log names for what this client changes or exports."""
        who: dict[str, object] = {"organization": self.organization.pk}
        if self.key is not None:
            return {**who, "api_key": self.key.prefix, "api_key_name": self.key.name}
        assert self.membership is not None
        return {**who, "actor": self.membership.pk, "actor_email": self.membership.user.email}

    def teams(self) -> QuerySet[Team]:
        """The teams whose results this client may read."""
        if self.membership is not None and not self.is_hr:
            return visible_teams(self.membership)
        return Team.objects.all()


def client_for(request) -> ApiClient:
    """The request's client, or the API error that says why there is none."""
    wanted = request.query_params.get("organization", "").strip()
    if isinstance(request.auth, ApiKey):
        key = request.auth
        if wanted and wanted != key.organization.slug:
            raise exceptions.NotFound(_("This key belongs to another organisation."), code="not_found")
        return ApiClient(organization=key.organization, key=key)
    user = request.user
    if user is None or not user.is_authenticated:
        raise exceptions.NotAuthenticated(
            _("Send an API key (Authorization: Api-Key <key>) or sign in."), code="not_authenticated"
        )
    memberships = Membership.all_organizations.filter(
        user=user, is_active=True, organization__is_active=True
    ).select_related("organization", "user")
    if wanted:
        memberships = memberships.filter(organization__slug=wanted)
    with across_organizations():  # the user's own memberships, which establish the scope
        if not memberships.exists():
            raise exceptions.NotFound(_("No such organisation of yours."), code="not_found")
        found = list(memberships.filter(role__in=MANAGER_ROLES)[:2])
    if not found:
        raise exceptions.PermissionDenied(
            _("The API is for HR, admins and managers: it shows results, never answers."), code="no_results_role"
        )
    if len(found) > 1:
        raise OrganizationRequired()
    return ApiClient(organization=found[0].organization, membership=found[0])


class OrganizationClient(permissions.BasePermission):
    """Resolves the client and scopes the request to its organisation; then checks the view's
    needs: `hr_only` (roster, people: not managers) and writing (`may_write`)."""

    def has_permission(self, request, view) -> bool:
        method = request.method.lower()
        if method not in view.http_method_names or not hasattr(view, method):
            raise exceptions.MethodNotAllowed(request.method)
        client = client_for(request)
        request.api_client = client
        request._request._organization_scope_token = scope_begin(client.organization)
        audit_context_add(**client.audit_actor)
        if getattr(view, "hr_only", False) and not client.is_hr:
            raise exceptions.PermissionDenied(_("Only HR, admins and API keys read the roster."), code="hr_only")
        if request.method not in permissions.SAFE_METHODS and not client.may_write:
            raise exceptions.PermissionDenied(
                _("This key is read-only: create a read-and-write key to import rosters."), code="read_only"
            )
        return True


class ClientRateThrottle(throttling.SimpleRateThrottle):
    """Requests per key (or per signed-in person), at the `api` rate of REST_FRAMEWORK.

    Counted atomically: a window starts with a client's first request (`add`, which only one of
    many simultaneous requests wins) and each request takes a number from one counter (`incr`,
    atomic in Redis and in process memory), so requests at once are all counted. DRF's own
    throttle reads a list of times, appends and writes it back, and loses most of a burst."""

    scope = "api"
    duration: int  # set from the rate by DRF
    num_requests: int

    def get_cache_key(self, request, view) -> str | None:
        client = getattr(request, "api_client", None)
        return None if client is None else self.cache_format % {"scope": self.scope, "ident": client.throttle_id}

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        self.cache.add(f"{self.key}:start", now, timeout=self.duration)
        self.started = float(self.cache.get(f"{self.key}:start") or now)
        counter = f"{self.key}:{self.started:.6f}"
        self.cache.add(counter, 0, timeout=self.duration + 1)
        try:
            count = self.cache.incr(counter)
        except ValueError:  # the window ended between the two calls
            self.cache.set(counter, 1, timeout=self.duration + 1)
            count = 1
        return count is None or count <= self.num_requests  # None: the cache is down, nothing counted

    def wait(self) -> float:
        return max(0.0, self.started + self.duration - self.timer())
