"""SCIM errors (RFC 7644 §3.12): every error a SCIM client can cause is answered with the
Error resource (`schemas`, `status`, `scimType` when one applies, `detail`), never an HTML
page and never a 500."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from scim2_models import Error

CONTENT_TYPE = "application/scim+json"

#: PulseError codes of the roster services -> the scimType that names them.
SCIM_TYPES = {
    "syntax": "invalidSyntax",
    "uniqueness": "uniqueness",
    "mutability": "mutability",
    "email": "invalidValue",
    "name": "invalidValue",
    "user_name": "invalidValue",
    "display_name": "invalidValue",
    "external_id": "invalidValue",
    "team": "invalidValue",
    "members": "invalidValue",
}


def scim_json(payload: dict, *, status: int = 200, headers: dict | None = None) -> HttpResponse:
    return HttpResponse(json.dumps(payload), status=status, content_type=CONTENT_TYPE, headers=headers)


def scim_error(status: int, detail: str, scim_type: str | None = None, *, headers: dict | None = None) -> HttpResponse:
    error = Error(status=status, scim_type=scim_type or None, detail=detail)
    return scim_json(error.model_dump(), status=status, headers=headers)


@csrf_exempt
def scim_not_found(request, *args, **kwargs) -> HttpResponse:
    """Any address under /scim/ that is not an endpoint, whatever the method."""
    return scim_error(404, "There is no such SCIM endpoint.")
