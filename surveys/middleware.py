"""Request scoping (which organisation a page under `/o/<org_slug>/` belongs to), and the
limits and headers every request gets.

Layer 1 of tenancy (see docs/architecture.md): the organisation comes from the URL and the
signed-in user's membership, never from a request body, and the whole request then runs in that
organisation's scope (`surveys.core.tenancy`), so every tenant query it makes is confined to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control

from surveys.access import access_membership
from surveys.core.audit import audit_context, audit_context_add
from surveys.core.replica import primary_cookie_set
from surveys.core.telemetry import is_answering_path
from surveys.core.tenancy import across_organizations, person_scope_begin, person_scope_end, scope_begin, scope_end
from surveys.scim.errors import scim_error
from surveys.services.audit import EXPORT_ROUTES, export_record
from surveys.services.identity import SSO_SESSION_KEY, sso_enforced_for
from surveys.services.mfa import MFA_PENDING_KEY


class OrganizationMiddleware:
    """Resolve `/o/<org_slug>/…` against the signed-in user's membership and scope the request.

    Stops: a user of organisation A reaching any page of organisation B by editing the URL.
    Not a member (or no such organisation, or membership inactive) gives the same 404, so the
    URL cannot be used to discover which organisations exist. Anonymous visitors are sent to
    the login page for any slug, existing or not, for the same reason.
    """

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        request.organization = None
        request.membership = None
        try:
            return self.get_response(request)
        finally:
            token = getattr(request, "_organization_scope_token", None)
            if token is not None:
                scope_end(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("org_slug")
        if slug is None:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = access_membership(user=request.user, org_slug=slug)
        request.membership = membership
        request.organization = membership.organization
        request._organization_scope_token = scope_begin(membership.organization)
        return None


#: Pages a person who still owes a second factor may open: giving it, setting it up, leaving.
SECOND_FACTOR_FREE = frozenset({"mfa_challenge", "mfa_setup", "logout", "answer", "answer_thanks"})


class SignInRulesMiddleware:
    """How a person signed in, against what is asked of them (after `OrganizationMiddleware` has
    found the membership):

    - Someone with a second factor gives a code after every sign-in before any page opens
      (`MFA_PENDING_KEY`); HR and admins of an organisation that asks for one set it up before
      any of its pages open.
    - A session signed in through organisation A's identity provider opens A's pages only: A's
      provider vouched for the person to A, not to B (`services.identity.SSO_SESSION_KEY`).
    - Where single sign-on is required of managers, HR and admins, such a member's session must
      have come through it; one signed in with a password is asked to sign in through it.

    Stops: an identity provider of one organisation opening another's pages; a password, kept
    or guessed, reaching an organisation that asked for its own sign-in."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        route = request.resolver_match.url_name if request.resolver_match else None
        owes_code = user.is_authenticated and request.session.get(MFA_PENDING_KEY) and not user.is_verified()
        if owes_code and route not in SECOND_FACTOR_FREE:
            return redirect(f"{reverse('mfa_challenge')}?{urlencode({'next': request.get_full_path()})}")
        membership = getattr(request, "membership", None)
        if membership is None:
            return None
        organization = request.organization
        if organization.mfa_required and membership.is_hr and not user.is_verified():
            return redirect(f"{reverse('mfa_setup')}?{urlencode({'next': request.get_full_path()})}")
        signed_in_through = request.session.get(SSO_SESSION_KEY)
        if signed_in_through is not None and signed_in_through != organization.pk:
            return render(
                request, "registration/sso_other_organization.html", {"sso_organization": organization}, status=403
            )
        if signed_in_through is None and sso_enforced_for(membership=membership):
            return render(request, "registration/sso_required.html", {"sso_organization": organization}, status=403)
        return None


class PersonScopeMiddleware:
    """Put the request's signed-in person in scope for the database, from its session, before
    anything reads them (`core.tenancy.person_scope_begin`): the people table's row-level
    security shows the web's role that person and their own memberships, so the request can
    find its organisation; everyone else only once that organisation is in scope. Between the
    session and authentication middleware."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        try:
            person = int(request.session.get(SESSION_KEY) or 0) or None
        except (TypeError, ValueError):
            person = None
        token = person_scope_begin(person)
        try:
            return self.get_response(request)
        finally:
            person_scope_end(token)


class SessionIdleMiddleware:
    """Sign out a session unused for PULSE_SESSION_IDLE_MINUTES: a signed-in page left open on a
    shared screen does not stay signed in (the session itself lasts at most
    SESSION_COOKIE_AGE). The last use is written at most once a minute, not on every request."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        now = time.time()
        seen = request.session.get(SEEN_KEY)
        if isinstance(seen, int | float) and now - seen > settings.PULSE_SESSION_IDLE_MINUTES * 60:
            logout(request)
            return self.get_response(request)
        response = self.get_response(request)
        # Stamped when the session is written anyway (signing in), or when the stamp is stale.
        if request.session.modified or (isinstance(seen, int | float) and now - seen > 60):
            request.session[SEEN_KEY] = now
        return response


#: When the session was last used (SessionIdleMiddleware).
SEEN_KEY = "pulse_seen"


class StaffAcrossOrganizationsMiddleware:
    """The admin is staff's read-only view across organisations, so its pages' queries may see
    every organisation's rows (row-level security's escape hatch, `across_organizations`).
    Only for signed-in staff: anyone else meets the admin's sign-in page, which reads no
    tenant row."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(reverse("admin:index")) and request.user.is_active and request.user.is_staff:
            with across_organizations():
                return self.get_response(request)
        return self.get_response(request)


class BodyLimitMiddleware:
    """Refuse a request whose declared body is larger than anything Pulse accepts (the roster
    upload is the largest) with 413, before a byte of it is read: an anonymous 300 MB POST is
    not read in full only for CSRF to refuse it. Bodies without a length are bounded by
    Django's own limits as they are read."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.PULSE_MAX_REQUEST_BODY
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            message = f"The request is too large: at most {limit // (1024 * 1024)} MB."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message, "code": "too_large"}, status=413)
            if request.path.startswith("/scim/"):
                return scim_error(413, message)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class PrivatePagesMiddleware:
    """Signed-in pages and answering links are never kept by a browser or a shared cache:
    `Cache-Control: private, no-store` (results and people lists would otherwise stay in the
    browser's history and cache after signing out)."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or request.path.startswith("/answer/"):
            patch_cache_control(response, private=True, no_store=True)
            response.headers.pop("Expires", None)
        return response


#: Where HR and admins change things: the organisation's pages, the API, the admin.
AUDITED_PATHS = ("/o/", "/api/", "/admin/")


class AuditContextMiddleware:
    """Attribute what a request changes to who made it, for the audit log (`core/audit.py`):
    the door (web, API, admin), the route, and the actor once the organisation middleware (or,
    for the API, its permission) has found them; and record the exports it serves.

    The answering routes are left alone: they change nothing audited, and nothing about them
    is kept beyond what was said.
    """

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if is_answering_path(path) or not path.startswith(AUDITED_PATHS):
            return self.get_response(request)
        via = "api" if path.startswith("/api/") else "admin" if path.startswith("/admin/") else "web"
        with audit_context(via=via) as context:
            response = self.get_response(request)
            match = request.resolver_match
            if match is not None and match.url_name in EXPORT_ROUTES and response.status_code == 200:
                export_record(what=match.url_name, context=context, parameters=request.GET)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        membership = getattr(request, "membership", None)
        route = request.resolver_match.url_name if request.resolver_match else None
        if membership is not None:
            audit_context_add(
                route=route,
                organization=membership.organization_id,
                actor=membership.pk,
                actor_email=membership.user.email,
            )
        elif request.user.is_authenticated:
            audit_context_add(route=route, actor_email=request.user.email)
        else:
            audit_context_add(route=route)
        return None


#: In Django's own debug pages (the technical 404 and 500), never in Pulse's.
_DEBUG_PAGE_MARK = b'<meta name="robots" content="NONE,NOARCHIVE">'


class OwnErrorPagesMiddleware:
    """With DEBUG on (the demo), answer Pulse's own 404 and 500 pages instead of Django's debug
    pages, which list every URL pattern and show tracebacks and settings to whoever hits them.
    Production (DEBUG off) uses the same templates through Django's handlers. A developer who
    wants the debug pages sets PULSE_DEBUG_PAGES=1. The error itself is still logged (Django's
    request logger, before this sees the response)."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG
            and not settings.PULSE_DEBUG_PAGES
            and response.status_code in (404, 500)
            and not getattr(response, "streaming", False)
            and _DEBUG_PAGE_MARK in response.content[:2000]
        ):
            if response.status_code == 404:
                return render(request, "404.html", status=404)
            return HttpResponseServerError(render_to_string("500.html"))  # no request: nothing more to fail
        return response


class ReadYourWritesMiddleware:
    """With a read replica (DATABASE_REPLICA_URL): after a write that succeeded, this browser's
    pages read the primary for PULSE_REPLICA_PRIMARY_SECONDS (`core.replica`), so a page that
    follows HR's change shows it even while the replica is a moment behind."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        primary_cookie_set(request, response)
        return response


class PersonLanguageMiddleware:
    """A signed-in person's saved language (`User.language`: the roster's `language` column, or
    the chooser) over the browser's: their pages read like the e-mails Pulse sends them. Without
    one, LocaleMiddleware's choice stands (the chooser's cookie, else Accept-Language). After
    AuthenticationMiddleware."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
