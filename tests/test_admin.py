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


def test_tenant_rows_are_read_only_in_the_admin(staff_client, tenant):
    assert staff_client.get(reverse("admin:surveys_team_add")).status_code == 403
    response = staff_client.post(
        reverse("admin:surveys_team_change", args=[tenant.platform.pk]), {"name": "Renamed", "path": "X"}
    )
    assert response.status_code == 403
    tenant.platform.refresh_from_db()
    assert tenant.platform.name == "Platform"
    assert Round.all_organizations.count() == 0
