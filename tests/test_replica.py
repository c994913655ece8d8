"""Reads from a streaming replica (core/replica.py): the results pages, the API's reads and its
CSV exports read the `replica` alias when one is configured; writes, transactions, requests that
are not GET and a browser that has just written read the primary. make test-scale checks the same
against a real streaming replica; here the replica is a stand-in that records where each read
was sent (and lets it run on the test database). The replica's statements carry the scope as
the primary's do (core.tenancy.scoped_cursor, on every connection), which make test-scale
sees on the real one."""

import pytest
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory

from surveys.core import replica
from surveys.core.replica import PRIMARY_COOKIE, REPLICA, ReplicaRouter, replica_reads
from surveys.middleware import ReadYourWritesMiddleware
from surveys.models import ActionPlanStatus, ApiKey, ApiKeyScope, Result
from tests.support.factories import SurveyFactory
from tests.support.results_data import history

pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


class Recorder:
    """Where the router sent each read."""

    def __init__(self) -> None:
        self.reads: list[str] = []


class OutsideTransaction:
    in_atomic_block = False


@pytest.fixture
def stand_in(settings, monkeypatch):
    """A configured replica whose reads are recorded, then run on the test database."""
    settings.DATABASES = {**settings.DATABASES, REPLICA: settings.DATABASES["default"]}
    settings.PULSE_REPLICA_PRIMARY_SECONDS = 30
    recorder = Recorder()
    # The test's own transaction around each test is not the request's: the router is told none is open.
    monkeypatch.setattr(replica, "connections", {"default": OutsideTransaction()})
    routed = ReplicaRouter.db_for_read

    def db_for_read(self, model, **hints):
        alias = routed(self, model, **hints)
        recorder.reads.append(alias or "default")
        return None  # run it on the test database all the same

    monkeypatch.setattr(ReplicaRouter, "db_for_read", db_for_read)
    return recorder


def _get(cookies: dict | None = None):
    request = RequestFactory().get("/")
    request.COOKIES.update(cookies or {})
    return request


def test_without_a_replica_every_read_goes_to_the_primary():
    with replica_reads(_get()):
        assert ReplicaRouter().db_for_read(Result) is None


def test_a_get_reads_the_replica_only_inside_the_block(settings, monkeypatch):
    settings.DATABASES = {**settings.DATABASES, REPLICA: settings.DATABASES["default"]}
    monkeypatch.setattr(replica, "connections", {"default": OutsideTransaction()})
    router = ReplicaRouter()
    with replica_reads(_get()):
        assert router.db_for_read(Result) == REPLICA
    assert router.db_for_read(Result) is None
    assert router.db_for_write(Result) == "default"
    assert router.allow_migrate(REPLICA, "surveys") is False
    assert router.allow_migrate("default", "surveys") is True


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_a_post_or_after_a_write_go_to_the_primary(settings, monkeypatch):
    settings.DATABASES = {**settings.DATABASES, REPLICA: settings.DATABASES["default"]}
    monkeypatch.setattr(replica, "connections", {"default": connection})
    router = ReplicaRouter()
    with replica_reads(_get()):
        assert router.db_for_read(Result) == REPLICA
    with replica_reads(_get()), transaction.atomic():
        assert router.db_for_read(Result) is None  # it may follow the transaction's own writes
    with replica_reads(RequestFactory().post("/")):
        assert router.db_for_read(Result) is None
    with replica_reads(_get({PRIMARY_COOKIE: "1"})):
        assert router.db_for_read(Result) is None


def test_a_successful_write_makes_that_browser_read_the_primary_for_a_while(settings):
    settings.DATABASES = {**settings.DATABASES, REPLICA: settings.DATABASES["default"]}
    settings.PULSE_REPLICA_PRIMARY_SECONDS = 30
    saved = ReadYourWritesMiddleware(lambda request: HttpResponse(status=302))(_post_in_an_organization())
    assert saved.cookies[PRIMARY_COOKIE]["max-age"] == 30
    assert saved.cookies[PRIMARY_COOKIE]["httponly"]
    refused = ReadYourWritesMiddleware(lambda request: HttpResponse(status=400))(_post_in_an_organization())
    assert PRIMARY_COOKIE not in refused.cookies  # nothing was written
    signed_in = ReadYourWritesMiddleware(lambda request: HttpResponse(status=302))(RequestFactory().post("/"))
    assert PRIMARY_COOKIE not in signed_in.cookies  # a sign-in writes no figure a page shows
    read = ReadYourWritesMiddleware(lambda request: HttpResponse())(RequestFactory().get("/"))
    assert PRIMARY_COOKIE not in read.cookies


def _post_in_an_organization():
    request = RequestFactory().post("/o/acme/teams/1/plans/new/")
    request.organization = object()  # as OrganizationMiddleware leaves it
    return request


def test_without_a_replica_no_cookie_is_set():
    saved = ReadYourWritesMiddleware(lambda request: HttpResponse(status=302))(_post_in_an_organization())
    assert PRIMARY_COOKIE not in saved.cookies


@pytest.fixture
def published(tenant):
    with tenant.scope():
        return history(tenant, SurveyFactory(organization=tenant.org, name="Team pulse"), rounds=2)


def test_the_results_pages_read_the_replica_until_hr_writes(stand_in, login, tenant, published):
    client = login(tenant.hr)
    stand_in.reads.clear()
    assert client.get(f"/o/{tenant.org.slug}/results/").status_code == 200
    assert client.get(f"/o/{tenant.org.slug}/teams/{tenant.platform.pk}/").status_code == 200
    assert stand_in.reads.count(REPLICA) >= 4, stand_in.reads  # the figures, read during the page
    # A write (an action plan saved) and the page after it: the primary.
    response = client.post(
        f"/o/{tenant.org.slug}/teams/{tenant.platform.pk}/plans/new/",
        {"title": "Fewer meetings", "status": ActionPlanStatus.PLANNED},
    )
    assert response.status_code == 302
    assert PRIMARY_COOKIE in response.cookies  # the test client keeps it, as a browser does
    stand_in.reads.clear()
    page = client.get(f"/o/{tenant.org.slug}/teams/{tenant.platform.pk}/")
    assert "Fewer meetings" in page.content.decode()
    assert REPLICA not in stand_in.reads


def test_the_api_s_reads_and_csv_exports_read_the_replica(stand_in, client, tenant, other_tenant, published):
    _, secret = ApiKey.all_organizations.create_key(
        organization=tenant.org, name="BI", scope=ApiKeyScope.READ, created_by=tenant.hr
    )
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {secret}"}
    stand_in.reads.clear()
    listed = client.get("/api/v1/results/", **headers)
    assert listed.status_code == 200 and listed.json()["results"]
    assert REPLICA in stand_in.reads
    stand_in.reads.clear()
    exported = client.get("/api/v1/results.csv", **headers)
    assert exported.status_code == 200
    lines = b"".join(exported.streaming_content).decode().splitlines()
    assert len(lines) > 1
    assert REPLICA in stand_in.reads  # the streamed lines too, read after the view returned
