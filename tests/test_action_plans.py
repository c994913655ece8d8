"""Action plans that get done: an owner who may see the team, a due date and one reminder before
it, deleting with a confirmation, and each plan shown beside the rounds that came after it."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from surveys.models import ActionPlan, ActionPlanStatus, Role
from surveys.selectors.action_plans import plans_progress
from surveys.selectors.dashboard import results_round_choice, surveys_covering
from surveys.selectors.exports import node_results
from surveys.services import jobs
from surveys.services.action_plans import ActionPlanFields, action_plan_create, action_plan_update
from surveys.services.people import PersonFields, person_update
from tests.support.errors import refused
from tests.support.factories import MembershipFactory, SurveyFactory, TeamFactory, make_manager
from tests.support.results_data import history


def plan_url(team, suffix: str = "") -> str:
    return f"/o/{team.organization.slug}/teams/{team.pk}/plans/{suffix}"


def words(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def soon(days: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


@pytest.fixture
def sales_lead(tenant):
    sales = TeamFactory(parent=tenant.root, name="Sales")
    return make_manager(MembershipFactory(organization=tenant.org, role=Role.MANAGER, team=sales), sales)


# Owner -----------------------------------------------------------------------------------------


def test_the_owner_is_chosen_among_those_who_may_see_the_team_and_is_the_writer_by_default(login, tenant, sales_lead):
    client = login(tenant.manager)
    form = client.get(plan_url(tenant.platform, "new/")).content.decode()
    owners = re.search(r'<select name="owner".*?</select>', form, re.S)[0]
    for member in (tenant.manager, tenant.hr, tenant.admin):
        assert f'value="{member.pk}"' in owners
    assert f'value="{sales_lead.pk}"' not in owners and f'value="{tenant.employee.pk}"' not in owners
    assert re.search(rf'<option value="{tenant.manager.pk}" selected>', owners)  # the writer, unless changed
    posted = {"title": "Fewer meetings", "status": "planned", "owner": sales_lead.pk, "due_on": soon(10)}
    refused_page = client.post(plan_url(tenant.platform, "new/"), posted)
    assert refused_page.status_code == 200 and "Select a valid choice" in words(refused_page)
    assert 'value="Fewer meetings"' in refused_page.content.decode()  # what was typed is kept
    done = client.post(plan_url(tenant.platform, "new/"), {**posted, "owner": tenant.hr.pk})
    assert done.status_code == 302
    with tenant.scope():
        plan = ActionPlan.objects.get()
    assert (plan.owner, plan.due_on) == (tenant.hr, soon(10))
    dashboard = words(login(tenant.manager).get(f"/o/acme/teams/{tenant.platform.pk}/"))
    assert f"Owner: {tenant.hr.user.name}" in dashboard and "Due " in dashboard


def test_the_service_refuses_an_owner_who_may_not_see_the_team(tenant, sales_lead):
    with tenant.scope(), refused("owner", match="Choose someone who may see Platform's results"):
        action_plan_create(team=tenant.platform, owner=None, fields=ActionPlanFields("T", owner=sales_lead))


# Deleting ----------------------------------------------------------------------------------------


def test_a_plan_is_deleted_after_a_confirmation_that_names_it(login, tenant):
    with tenant.scope():
        plan = action_plan_create(
            team=tenant.platform, owner=tenant.manager, fields=ActionPlanFields("Fewer meetings", due_on=soon(5))
        )
    client = login(tenant.manager)
    assert f"/plans/{plan.pk}/delete/" in client.get(f"/o/acme/teams/{tenant.platform.pk}/").content.decode()
    asked = words(client.get(plan_url(tenant.platform, f"{plan.pk}/delete/")))
    assert "Delete “Fewer meetings”?" in asked and "cannot be brought back" in asked
    assert ActionPlan.all_organizations.filter(pk=plan.pk).exists()  # asking deletes nothing
    done = client.post(plan_url(tenant.platform, f"{plan.pk}/delete/"), follow=True)
    assert "Plan “Fewer meetings” deleted." in words(done)
    assert not ActionPlan.all_organizations.filter(pk=plan.pk).exists()


def test_deleting_another_teams_or_organisations_plan_is_404_and_employees_get_403(login, tenant, other_tenant):
    sales = TeamFactory(parent=tenant.root, name="Sales")
    theirs = ActionPlan.all_organizations.create(organization=tenant.org, team=sales, title="Sales plan")
    product = ActionPlan.all_organizations.create(organization=tenant.org, team=tenant.product, title="Product plan")
    globex = ActionPlan.all_organizations.create(
        organization=other_tenant.org, team=other_tenant.platform, title="Globex plan"
    )
    client = login(tenant.manager)
    assert client.post(plan_url(sales, f"{theirs.pk}/delete/")).status_code == 404  # not a team they lead
    assert client.post(plan_url(tenant.platform, f"{product.pk}/delete/")).status_code == 404  # another team's id
    assert client.post(plan_url(tenant.platform, f"{globex.pk}/delete/")).status_code == 404
    assert client.post(plan_url(tenant.platform, "999999/delete/")).status_code == 404
    assert login(tenant.employee).post(plan_url(tenant.product, f"{product.pk}/delete/")).status_code == 403
    assert ActionPlan.all_organizations.count() == 3


# The reminder ----------------------------------------------------------------------------------------


def test_the_owner_is_reminded_once_before_the_due_date_and_again_only_for_a_new_one(tenant, other_tenant):
    with tenant.scope():
        plan = action_plan_create(
            team=tenant.platform, owner=tenant.manager, fields=ActionPlanFields("Fewer meetings", due_on=soon(2))
        )
        action_plan_create(team=tenant.platform, owner=tenant.manager, fields=ActionPlanFields("Later", due_on=soon(9)))
        action_plan_create(
            team=tenant.platform,
            owner=tenant.manager,
            fields=ActionPlanFields("Done already", due_on=soon(1), status=ActionPlanStatus.DONE),
        )
        action_plan_create(team=tenant.platform, owner=None, fields=ActionPlanFields("Nobody's", due_on=soon(1)))
    with other_tenant.scope():
        action_plan_create(
            team=other_tenant.platform, owner=other_tenant.hr, fields=ActionPlanFields("Theirs", due_on=soon(0))
        )
    report = jobs.plan_reminders_send()
    assert report.plan_owners_reminded == 2
    by_to = {message.to[0]: message for message in mail.outbox}
    assert set(by_to) == {tenant.manager.user.email, other_tenant.hr.user.email}
    message = by_to[tenant.manager.user.email]
    assert message.subject == "Platform: “Fewer meetings” is due in 2 days"
    assert f"/o/acme/teams/{tenant.platform.pk}/#action-plans" in message.body
    assert "Fewer meetings" in message.alternatives[0][0] and "Theirs" not in message.body
    assert by_to[other_tenant.hr.user.email].subject == "Platform: “Theirs” is due today"
    plan.refresh_from_db()
    assert plan.reminded_at is not None
    assert jobs.plan_reminders_send().plan_owners_reminded == 0 and len(mail.outbox) == 2  # once
    with tenant.scope():
        action_plan_update(plan=plan, fields=ActionPlanFields.of(plan))  # nothing new: no new reminder
        assert ActionPlan.objects.get(pk=plan.pk).reminded_at is not None
        action_plan_update(plan=plan, fields=ActionPlanFields("Fewer meetings", due_on=soon(1), owner=tenant.manager))
    assert jobs.plan_reminders_send().plan_owners_reminded == 1
    assert mail.outbox[-1].subject == "Platform: “Fewer meetings” is due tomorrow"


def test_an_owner_who_may_no_longer_see_the_team_is_not_emailed(tenant):
    with tenant.scope():
        action_plan_create(
            team=tenant.platform, owner=tenant.manager, fields=ActionPlanFields("Fewer meetings", due_on=soon(1))
        )
        manager = tenant.manager
        person_update(
            membership=manager,
            actor=tenant.hr,
            fields=PersonFields(name=manager.user.name, team=manager.team, role=Role.MANAGER, leads=()),
        )
    assert jobs.plan_reminders_send().plan_owners_reminded == 0 and mail.outbox == []


# Beside the rounds after it ---------------------------------------------------------------------------


def test_each_plan_shows_beside_the_change_flags_of_the_rounds_after_it(login, tenant):
    survey = SurveyFactory(organization=tenant.org, name="Team pulse")
    with tenant.scope():
        rounds = history(tenant, survey, rounds=4)
        plan = action_plan_create(
            team=tenant.engineering, owner=tenant.manager, fields=ActionPlanFields("Protect focus time")
        )
        ActionPlan.objects.filter(pk=plan.pk).update(created_at=rounds[1].closes_at)  # after round 2
        fresh = action_plan_create(team=tenant.engineering, owner=tenant.manager, fields=ActionPlanFields("New"))
        plans = list(ActionPlan.objects.filter(pk__in=[plan.pk, fresh.pk]).order_by("pk"))
        choice = results_round_choice(surveys=survey.__class__.objects.filter(surveys_covering(["Acme/Engineering"])))
        progress = plans_progress(team=tenant.engineering, plans=plans, published=choice.published)
        assert [a.round.number for a in progress[0].rounds] == [3, 4] and progress[1].rounds == ()
        nodes = list(survey.rounds.get(number=4).team_snapshot.filter(team=tenant.engineering))
        expected = [c.label for c in node_results(nodes)[0].changes.values() if c.flagged]
        assert [change for _, change, _ in progress[0].rounds[-1].flags] == expected
    page = words(login(tenant.manager).get(f"/o/acme/teams/{tenant.engineering.pk}/"))
    assert "Since this plan" in page and "Team pulse, round 3 :" in page and "Team pulse, round 4 :" in page
    assert "No round has closed since." in page  # the plan made today


@pytest.fixture(autouse=True)
def _locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PULSE_BASE_URL = "https://pulse.example"
