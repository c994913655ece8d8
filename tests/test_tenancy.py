import pytest
from django.apps import apps

from surveys.core.tenancy import (
    OrganizationScopeError,
    TenantManager,
    TenantModel,
    organization_scope,
    tenant_task,
)
from surveys.models import Membership, Question, Team
from tests.support.factories import TeamFactory

TENANT_MODELS = [m for m in apps.get_app_config("surveys").get_models() if issubclass(m, TenantModel)]


def test_every_model_with_an_organization_is_a_tenant_model():
    for model in apps.get_app_config("surveys").get_models():
        names = {f.name for f in model._meta.get_fields()}
        if "organization" in names and model is not Question:
            assert issubclass(model, TenantModel), model
    assert len(TENANT_MODELS) >= 14


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__name__)
def test_querying_a_tenant_model_without_an_organization_in_scope_raises(db, model):
    assert isinstance(model._default_manager, TenantManager)
    with pytest.raises(OrganizationScopeError):
        list(model.objects.all())
    with pytest.raises(OrganizationScopeError):
        model.objects.filter(pk=1).exists()


def test_questions_without_scope_raise_and_with_scope_show_bank_and_own(tenant, other_tenant):
    with pytest.raises(OrganizationScopeError):
        Question.objects.count()
    Question.all_organizations.create(organization=other_tenant.org, code="theirs", construct="custom", text="Theirs?")
    own = Question.all_organizations.create(organization=tenant.org, code="ours", construct="custom", text="Ours?")
    with tenant.scope():
        codes = set(Question.objects.values_list("code", flat=True))
    assert "ours" in codes and "theirs" not in codes
    assert {"aut-1", "exh-1", "dis-1"} <= codes
    with other_tenant.scope():
        assert not Question.objects.filter(pk=own.pk).exists()


def test_scope_confines_queries_to_one_organization(tenant, other_tenant):
    with tenant.scope():
        paths = set(Team.objects.values_list("path", flat=True))
        people = set(Membership.objects.values_list("user__email", flat=True))
    assert paths == {"Acme", "Acme/Engineering", "Acme/Engineering/Platform", "Acme/Engineering/Product"}
    assert all(email.endswith("@acme.test") for email in people)


def test_switching_organization_inside_a_scope_is_refused(tenant, other_tenant):
    with tenant.scope(), pytest.raises(OrganizationScopeError), organization_scope(other_tenant.org):
        pass


def test_saving_another_organizations_row_inside_a_scope_is_refused(tenant, other_tenant):
    team = Team.all_organizations.get(organization=other_tenant.org, path="Globex")
    team.name = "Renamed"
    with tenant.scope(), pytest.raises(OrganizationScopeError):
        team.save()


def test_a_new_row_takes_the_organization_in_scope(tenant):
    with tenant.scope():
        team = Team(name="Sales", parent=tenant.root, path="Acme/Sales")
        team.save()
    assert team.organization_id == tenant.org.pk


def test_tenant_task_runs_the_body_in_the_rows_organization(tenant, other_tenant):
    seen = []

    @tenant_task(Team)
    def count_teams(team_id):
        seen.append(Team.objects.count())
        return Team.objects.get(pk=team_id).path

    TeamFactory(parent=other_tenant.root, name="Extra")
    assert count_teams(other_tenant.platform.pk) == "Globex/Engineering/Platform"
    assert count_teams(tenant.platform.pk) == "Acme/Engineering/Platform"
    assert seen == [5, 4]
    assert count_teams(10**9) is None
