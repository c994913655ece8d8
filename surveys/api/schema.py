"""The OpenAPI schema (drf-spectacular): the API key as a security scheme, and the error
answers every operation can give, in their one shape."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from .serializers import ErrorSerializer

#: The errors any operation may answer, with what they mean.
ERRORS = {
    "400": "The request is not valid (see errors).",
    "401": "No API key or session, or the key is not valid.",
    "403": "Not allowed: a read-only key writing, a manager reading the roster.",
    "404": "Not found, or not yours.",
    "405": "Method not allowed.",
    "406": "Cannot answer in the format asked for.",
    "415": "Unsupported request body type.",
    "429": "Too many requests: wait retry_after seconds.",
}
#: Errors only some operations give.
WRITE_ERRORS = {"409": "The import is not waiting for this (or its preview changed)."}


#: The documentation's sections, by the first part of an operation's path.
TAGS = {
    "": "about",
    "teams": "organisation",
    "surveys": "organisation",
    "rounds": "organisation",
    "results": "results",
    "results.csv": "results",
    "heatmap": "results",
    "heatmap.csv": "results",
    "plans": "results",
    "people": "roster",
    "roster.csv": "roster",
    "roster": "roster",
}


class PulseAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        first = self.path.removeprefix("/api/v1/").split("/")[0]
        return [TAGS.get(first, first)]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(ERRORS)
        if self.method == "POST":
            errors.update(WRITE_ERRORS)
        for code, description in errors.items():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, ["application/json"], direction)
                response["description"] = description
                responses[code] = response
        return responses


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "surveys.api.clients.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <your key>`: create one under Settings → API keys.",
        }
