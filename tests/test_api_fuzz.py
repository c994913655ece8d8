"""Schemathesis against the API's own OpenAPI schema: generated requests for every operation,
valid and invalid, with a read-and-write key on an organisation with published results. Every
answer must be no server error, a status the schema documents, the content type it documents,
and a body that matches its schema."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from surveys.models import ApiKey, ApiKeyScope
from tests.support.factories import SurveyFactory
from tests.support.results_data import published_round, spread

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())


@pytest.fixture
def api_key(tenant, other_tenant):
    """A read-and-write key of an organisation with a published round (Product hidden)."""
    with tenant.scope():
        published_round(
            SurveyFactory(organization=tenant.org),
            {tenant.platform: spread(6, 4), tenant.product: spread(3, 2)},
            number=1,
        )
    _, secret = ApiKey.all_organizations.create_key(organization=tenant.org, name="fuzz", scope=ApiKeyScope.WRITE)
    return secret


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: the WSGI handler would close the database connection at
    the end of each request, and with it the test's transaction (PostgreSQL)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_throttle(monkeypatch):
    from surveys.api.clients import ClientRateThrottle

    monkeypatch.setattr(ClientRateThrottle, "rate", "100000/minute", raising=False)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_answers_as_its_schema_says(case, api_key):
    case.call_and_validate(headers={"Authorization": f"Api-Key {api_key}"}, checks=CHECKS)
