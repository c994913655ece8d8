"""Retention (services/retention.py, docs/operations.md "Retention"): the job deletes the raw
answers, comments and participation flags of published rounds whose time is up, and only
those, in batches, each in its own organisation's scope; the pages still draw every figure and
say where the comments went. Deleting an organisation removes everything it held."""

import datetime as dt
import io

import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from surveys.core.tenancy import across_organizations
from surveys.models import (
    Answer,
    Comment,
    Membership,
    Organization,
    OrganizationEvent,
    Participation,
    Response,
    Result,
    Round,
    RoundStatus,
    User,
)
from surveys.services.retention import answers_purge_due, organization_delete, round_answers_purge
from tests.support.factories import MembershipFactory, RoundFactory, SurveyFactory
from tests.support.results_data import published_round, spread

COMMENTS = ["The new rota helps.", "Too many meetings on Mondays."]


def _published(tenant, *, number: int, days_ago: int) -> Round:
    """A published round of a new survey: Platform and Product six each (Engineering's twelve
    release its comments), published `days_ago` days ago."""
    with tenant.scope():
        round_ = published_round(
            SurveyFactory(organization=tenant.org),
            {tenant.platform: spread(6, 4), tenant.product: spread(6, 3)},
            number=number,
            comments={tenant.platform: COMMENTS},
        )
    published_at = timezone.now() - dt.timedelta(days=days_ago)
    Round.all_organizations.filter(pk=round_.pk).update(published_at=published_at)
    round_.refresh_from_db()
    return round_


def _raw(round_: Round) -> dict[str, int]:
    with across_organizations():
        return {
            model.__name__: model.all_organizations.filter(round=round_).count()
            for model in (Response, Answer, Comment, Participation)
        }


def _results(round_: Round) -> list[tuple]:
    with across_organizations():
        rows = Result.all_organizations.filter(round=round_).order_by("team_id")
        return list(rows.values_list("team_id", "n", "invited", "items", "comments_released"))


def test_the_job_purges_only_published_rounds_whose_retention_ran_out(tenant, other_tenant):
    due = _published(tenant, number=1, days_ago=400)
    recent = _published(tenant, number=1, days_ago=300)
    theirs = _published(other_tenant, number=1, days_ago=400)
    Organization.objects.filter(pk=other_tenant.org.pk).update(answers_kept_days=730)
    with tenant.scope():
        closed = RoundFactory(survey=SurveyFactory(organization=tenant.org), status=RoundStatus.CLOSED)
        long_ago = timezone.now() - dt.timedelta(days=900)
        Round.objects.filter(pk=closed.pk).update(opens_at=long_ago - dt.timedelta(days=5), closes_at=long_ago)
    figures = {round_.pk: _results(round_) for round_ in (due, recent, theirs)}
    assert all(_raw(round_)["Comment"] == 2 for round_ in (due, recent, theirs))

    assert answers_purge_due() == 1

    assert _raw(due) == {"Response": 0, "Answer": 0, "Comment": 0, "Participation": 0}
    for kept in (recent, theirs):
        assert _raw(kept) == {"Response": 12, "Answer": 144, "Comment": 2, "Participation": 12}
    due.refresh_from_db()
    assert due.answers_purged_at is not None and due.status == RoundStatus.PUBLISHED
    assert {round_.pk: _results(round_) for round_ in (due, recent, theirs)} == figures
    assert answers_purge_due() == 0  # done once


def test_the_job_works_in_batches_oldest_first(tenant):
    older = _published(tenant, number=1, days_ago=500)
    newer = _published(tenant, number=1, days_ago=400)
    assert answers_purge_due(batch=1) == 1
    assert _raw(older)["Response"] == 0 and _raw(newer)["Response"] == 12
    assert answers_purge_due(batch=1) == 1
    assert _raw(newer)["Response"] == 0


def test_a_shorter_retention_applies_to_rounds_already_published(tenant):
    round_ = _published(tenant, number=1, days_ago=40)
    assert answers_purge_due() == 0
    Organization.objects.filter(pk=tenant.org.pk).update(answers_kept_days=30)
    assert answers_purge_due() == 1
    assert _raw(round_)["Answer"] == 0


def test_a_round_not_published_is_never_purged(tenant):
    with tenant.scope():
        round_ = RoundFactory(survey=SurveyFactory(organization=tenant.org))
        assert round_answers_purge(round_id=round_.pk) is False


def test_pages_still_draw_a_purged_round_and_say_where_its_comments_went(tenant, login):
    round_ = _published(tenant, number=1, days_ago=400)
    client = login(tenant.hr)
    url = f"/o/acme/teams/{tenant.engineering.pk}/?round={round_.pk}"
    before = client.get(url)
    assert COMMENTS[0] in before.content.decode()

    answers_purge_due()

    after = client.get(url).content.decode()
    assert COMMENTS[0] not in after
    assert "comments were deleted on" in after
    assert after.count("Autonomy") == before.content.decode().count("Autonomy") > 0  # the figures are still drawn
    for page in (f"/o/acme/teams/{tenant.platform.pk}/?round={round_.pk}", "/o/acme/results/"):
        assert client.get(page).status_code == 200
    csv = b"".join(client.get(f"/api/v1/results.csv?round={round_.pk}").streaming_content).decode()
    assert "Engineering" in csv


def test_hr_sets_the_retention_and_the_settings_page_says_what_is_kept(tenant, other_tenant, login):
    client = login(tenant.hr)
    page = client.get("/o/acme/settings/").content.decode()
    assert "What Pulse keeps, and for how long" in page and "365 days after" in page
    form = {"name": "Acme", "k": 5, "k_comments": 10, "support_text": "", "support_links": ""}
    refused = client.post("/o/acme/settings/", {**form, "answers_kept_days": 7})
    assert refused.status_code == 200 and 'value="7"' in refused.content.decode()  # what was typed stays
    assert client.post("/o/acme/settings/", {**form, "answers_kept_days": 90}).status_code == 302
    assert Organization.objects.get(pk=tenant.org.pk).answers_kept_days == 90
    assert Organization.objects.get(pk=other_tenant.org.pk).answers_kept_days == 365
    client.logout()
    assert login(tenant.employee).post("/o/acme/settings/", {**form, "answers_kept_days": 30}).status_code == 403


def _tenant_rows(organization_id: int) -> dict[str, int]:
    """How many rows of each tenant table (events included) belong to the organisation."""
    counts = {}
    with across_organizations():
        for model in apps.get_app_config("surveys").get_models():
            columns = {field.attname for field in model._meta.concrete_fields}
            column = "organization_id" if "organization_id" in columns else None
            if model is OrganizationEvent:
                column = "pgh_obj_id"
            if column is not None and (found := model._base_manager.filter(**{column: organization_id}).count()):
                counts[model.__name__] = found
    return counts


def test_deleting_an_organisation_removes_everything_it_held(tenant, other_tenant, login):
    _published(tenant, number=1, days_ago=3)
    _published(other_tenant, number=1, days_ago=3)
    shared = MembershipFactory(organization=other_tenant.org, user=tenant.employee.user)
    login(tenant.hr).get(f"/o/acme/teams/{tenant.engineering.pk}/")  # draws and caches the figures
    cache.set(f"pulse:flags:v9:{tenant.org.pk}:1:2:x:y", "cached flags")
    acme, theirs = tenant.org.pk, _tenant_rows(other_tenant.org.pk)
    assert len(_tenant_rows(acme)) >= 10
    people = set(Membership.all_organizations.filter(organization_id=acme).values_list("user_id", flat=True))
    rounds = list(Round.all_organizations.filter(organization_id=acme).values_list("pk", flat=True))
    kept = list(Round.all_organizations.filter(organization_id=other_tenant.org.pk).values_list("pk", flat=True))

    organization_delete(organization=tenant.org)

    assert _tenant_rows(acme) == {}
    assert not Organization.objects.filter(pk=acme).exists()
    assert _tenant_rows(other_tenant.org.pk) == theirs  # the other organisation untouched
    assert set(User.objects.filter(pk__in=people).values_list("pk", flat=True)) == {shared.user_id}
    assert cache.get(f"pulse:flags:v9:{acme}:1:2:x:y") is None
    if connection.vendor == "postgresql":

        def partitions(round_ids: list[int]) -> int:
            names = [f"surveys_{table}_r{pk}" for pk in round_ids for table in ("response", "answer", "comment")]
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_class WHERE relname = ANY(%s)", [names])
                return cursor.fetchone()[0]

        assert rounds and partitions(rounds) == 0  # the organisation's rounds' partitions are gone
        assert partitions(kept) == 3 * len(kept)  # the other organisation's stay


@pytest.mark.usefixtures("postgres")
def test_on_postgresql_a_purge_drops_the_rounds_partitions(tenant):
    round_ = _published(tenant, number=1, days_ago=400)
    names = [f"surveys_{table}_r{round_.pk}" for table in ("response", "answer", "comment")]

    def exists(name: str) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            return cursor.fetchone()[0]

    assert all(exists(name) for name in names)
    assert answers_purge_due() == 1
    assert not any(exists(name) for name in names)


def test_the_purge_is_scheduled(settings):
    assert any(entry["task"] == "surveys.tasks.answers_purge_due" for entry in settings.CELERY_BEAT_SCHEDULE.values())


def test_the_command_says_what_would_go_then_deletes_with_yes(tenant, other_tenant):
    out = io.StringIO()
    call_command("organization_delete", "acme", stdout=out)
    assert "Would delete Acme" in out.getvalue() and Organization.objects.filter(slug="acme").exists()
    call_command("organization_delete", "acme", "--yes", stdout=out)
    assert not Organization.objects.filter(slug="acme").exists() and _tenant_rows(tenant.org.pk) == {}
    assert Organization.objects.filter(slug="globex").exists()
    with pytest.raises(CommandError):
        call_command("organization_delete", "nowhere", "--yes")


def test_staff_deleting_an_organisation_in_the_admin_removes_everything(tenant, other_tenant, client):
    staff = User.objects.create_superuser("staff@pulse.test", "pw-staff-123")
    client.force_login(staff)
    response = client.post(f"/admin/surveys/organization/{tenant.org.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert _tenant_rows(tenant.org.pk) == {} and Organization.objects.filter(pk=other_tenant.org.pk).exists()
