"""The Django admin, for staff: every registered page opens, and no screen lists what was said."""

import pytest
from django.contrib import admin
from django.urls import reverse

from surveys.models import Answer, Comment, Participation, Response, Round
from tests.support.factories import RoundFactory, SurveyFactory, UserFactory
from tests.support.survey_data import close_round, invite_everyone, respond, staff


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_what_was_said_has_no_admin_screen():
    registered = set(admin.site._registry)
    assert not registered & {Response, Answer, Comment, Participation}


def test_every_admin_page_opens_for_staff_across_organisations(staff_client, tenant, other_tenant):
    survey = SurveyFactory(organization=tenant.org)
    round_ = RoundFactory(survey=survey)
    people = staff(tenant.platform, 3)
    invite_everyone(round_, people)
    for membership in people:
        respond(round_, membership, 4, comment="A secret remark")
    close_round(round_)
    for model in admin.site._registry:
        meta = model._meta
        changelist = staff_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        assert changelist.status_code == 200, model
        first = model._base_manager.order_by("pk").first()
        if first is not None:
            change = staff_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk]))
            assert change.status_code == 200, model
    rounds = staff_client.get(reverse("admin:surveys_round_changelist")).content.decode()
    assert "A secret remark" not in rounds
    assert str(round_) in rounds


def test_rounds_show_published_figures_only_never_a_live_count(staff_client, tenant):
    """Three people answered an open round: staff must not be able to watch that number move,
    nor see it once the round closes with fewer than k answers and publishes nothing."""
    from surveys.services.results import results_publish

    survey = SurveyFactory(organization=tenant.org)
    round_ = RoundFactory(survey=survey)
    people = staff(tenant.platform, 6)
    invite_everyone(round_, people)
    for membership in people[:3]:
        respond(round_, membership, 4, comment="A remark")

    def row() -> str:
        page = staff_client.get(reverse("admin:surveys_round_changelist")).content.decode()
        return page[page.index(str(round_)) :].split("</tr>")[0]

    assert "responses" not in staff_client.get(reverse("admin:surveys_round_changelist")).content.decode()
    assert row().count(">3<") == 0 and "—" in row()
    close_round(round_)
    with tenant.scope():
        results_publish(round_id=round_.pk)  # 3 of 6 answered, below k = 5: nothing published
    assert "—" in row() and ">3<" not in row()
    later = RoundFactory(survey=survey)
    more = staff(tenant.product, 6)
    invite_everyone(later, more)
    for membership in more:
        respond(later, membership, 4)
    close_round(later)
    with tenant.scope():
        results_publish(round_id=later.pk)
    page = staff_client.get(reverse("admin:surveys_round_changelist")).content.decode()
    later_row = page[page.index(str(later)) :].split("</tr>")[0]
    assert "6 answered in the largest" in later_row


def test_tenant_rows_are_read_only_in_the_admin(staff_client, tenant):
    assert staff_client.get(reverse("admin:surveys_team_add")).status_code == 403
    response = staff_client.post(
        reverse("admin:surveys_team_change", args=[tenant.platform.pk]), {"name": "Renamed", "path": "X"}
    )
    assert response.status_code == 403
    tenant.platform.refresh_from_db()
    assert tenant.platform.name == "Platform"
    assert Round.all_organizations.count() == 0


def test_the_api_key_librarys_own_empty_model_is_not_in_the_admin(client, db):
    from rest_framework_api_key.models import APIKey

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert not admin.site.is_registered(APIKey)
    assert "rest_framework_api_key" not in client.get("/admin/").content.decode()
