"""Request scoping (which organisation a page under `/o/<org_slug>/` belongs to), and the
limits and headers every request gets.

Layer 1 of tenancy (see docs/architecture.md): the organisation comes from the URL and the
signed-in user's membership, never from a request body, and the whole request then runs in that
organisation's scope (`surveys.core.tenancy`), so every tenant query it makes is confined to it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control

from surveys.access import access_membership
from surveys.core.tenancy import across_organizations, scope_begin, scope_end


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
