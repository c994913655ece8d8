"""Every API error has the same shape: {"detail": "...", "code": "..."}, plus `errors` (what
was wrong with which parameter or field, or which line of a roster file) when there are
several. A Pulse rule broken in a service (PulseError) is a 4xx like any other."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from surveys.core.exceptions import PulseError


def exception_handler(error, context):
    if isinstance(error, PulseError):
        error = _from_pulse(error)
    elif isinstance(error, Http404):
        error = exceptions.NotFound()
    elif isinstance(error, DjangoPermissionDenied):
        error = exceptions.PermissionDenied()
    response = drf_exception_handler(error, context)
    if response is None:
        return None
    response.data = _body(error, response.data)
    return response


def _from_pulse(error: PulseError) -> exceptions.APIException:
    failure = exceptions.APIException(error.message, code=error.code)
    failure.status_code = error.status if 400 <= error.status < 500 else status.HTTP_400_BAD_REQUEST
    return failure


def _body(error: exceptions.APIException, data) -> dict:
    if isinstance(error, exceptions.ValidationError):
        codes = error.get_codes()
        code = codes if isinstance(codes, str) else "invalid"
        if isinstance(data, dict):
            return {"detail": _("The request is not valid: see errors."), "code": code, "errors": data}
        if isinstance(data, list):
            return {"detail": " ".join(str(item) for item in data), "code": code}
    detail = data.get("detail", str(error.detail)) if isinstance(data, dict) else str(error.detail)
    codes = error.get_codes()
    body: dict[str, object] = {"detail": str(detail), "code": codes if isinstance(codes, str) else error.default_code}
    wait = getattr(error, "wait", None)
    if isinstance(error, exceptions.Throttled) and wait is not None:
        body["retry_after"] = max(1, int(wait))
    return body


@csrf_exempt  # it changes nothing, and a POST to a wrong address must say so, not "CSRF"
def not_found(request, *args, **kwargs) -> JsonResponse:
    """Any address under /api/ that is not an endpoint, whatever the method."""
    return JsonResponse({"detail": _("There is no such API endpoint."), "code": "not_found"}, status=404)


def error_response(detail: str, code: str, status_code: int, **extra) -> Response:
    return Response({"detail": detail, "code": code, **extra}, status=status_code)
