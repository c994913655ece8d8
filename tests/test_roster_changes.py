"""Single roster changes (people and teams, one at a time): what each records it replaced, undoing
any one of them, the conflicts that refuse an undo, and the previews that name every access a
change grants or removes before it is made."""

import pytest
from django.core import mail
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.access import results_readers, team_readers, visible_teams
from surveys.models import Membership, Role, RosterChange, RosterChangeKind, Team, TeamManagement, User
from surveys.services import people as people_services
from surveys.services import teams as team_services
from surveys.services.access_changes import access_change_preview
from surveys.services.people import PersonFields
from surveys.services.roster import roster_change_undo
from tests.support.errors import refused
from tests.support.factories import MembershipFactory, TeamFactory, make_manager
from tests.support.roster import counts, leads, people


def roster_state(tenant) -> tuple:
    with tenant.scope():
        teams = sorted(Team.objects.values_list("id", "path", "parent_id"))
        names = sorted(User.objects.filter(memberships__organization=tenant.org).values_list("email", "name"))
    return people(tenant), leads(tenant), teams, names, counts()


def last_change(tenant) -> RosterChange:
    with tenant.scope():
        return RosterChange.objects.exclude(kind=RosterChangeKind.UNDO).order_by("-pk").first()


def undo(tenant, change: RosterChange | None = None) -> RosterChange:
    with tenant.scope():
        return roster_change_undo(change=change or last_change(tenant), actor=tenant.hr)


def fields(membership: Membership, **changes) -> PersonFields:
    """The person's fields as they stand now, with `changes`."""
    membership = Membership.all_organizations.select_related("user", "team").get(pk=membership.pk)
    base = {
        "name": membership.user.name,
        "team": membership.team,
        "role": membership.role,
        "leads": tuple(Team.all_organizations.filter(management__membership=membership)),
    }
    return PersonFields(**{**base, **changes})


# Every single change can be undone ---------------------------------------------------------------


def test_each_kind_of_single_change_is_undone_back_to_the_roster_before_it(tenant, other_tenant):
    with tenant.scope():
        sales = TeamFactory(parent=tenant.root, name="Sales")
    before, theirs = roster_state(tenant), roster_state(other_tenant)
    steps = [
        lambda: people_services.person_update(
            membership=tenant.employee,
            actor=tenant.hr,
            fields=fields(tenant.employee, name="Renamed", team=tenant.product, role=Role.MANAGER, leads=(sales,)),
        ),
        lambda: people_services.person_deactivate(membership=tenant.manager, actor=tenant.hr),
        lambda: people_services.person_create(
            organization=tenant.org,
            actor=tenant.hr,
            email="new@acme.test",
            fields=PersonFields(name="New", team=sales, role=Role.MANAGER, leads=(sales,)),
        ),
        lambda: team_services.team_rename(team=tenant.product, name="Products", actor=tenant.hr),
        lambda: team_services.team_move(team=tenant.platform, parent=sales, actor=tenant.hr),
        lambda: team_services.team_merge(team=tenant.engineering, into=sales, actor=tenant.hr, leads_follow=True),
    ]
    for step in steps:
        with tenant.scope():
            step()
        assert last_change(tenant).undoable
        undo(tenant)
        assert roster_state(tenant) == before, step
    assert roster_state(other_tenant) == theirs
    with tenant.scope():
        assert not User.objects.filter(email="new@acme.test").exists()  # created, then taken back
        assert RosterChange.objects.filter(kind=RosterChangeKind.UNDO).count() == len(steps)


def test_undoing_a_deactivation_gives_back_the_teams_they_led_which_reactivating_does_not(tenant):
    with tenant.scope():
        people_services.person_deactivate(membership=tenant.manager, actor=tenant.hr)
        deactivation = last_change(tenant)
        people_services.person_reactivate(membership=tenant.manager, actor=tenant.hr)
        assert not TeamManagement.objects.filter(membership=tenant.manager).exists()
        roster_change_undo(change=last_change(tenant), actor=tenant.hr)  # the reactivation
        roster_change_undo(change=deactivation, actor=tenant.hr)
        assert list(TeamManagement.objects.filter(membership=tenant.manager).values_list("team", flat=True)) == [
            tenant.engineering.pk
        ]
        assert Membership.objects.get(pk=tenant.manager.pk).is_active


def test_a_merge_keeps_its_leads_on_the_merged_team_unless_they_follow(tenant):
    with tenant.scope():
        lead = make_manager(
            MembershipFactory(organization=tenant.org, role=Role.MANAGER, team=tenant.platform), tenant.platform
        )
        team_services.team_merge(team=tenant.platform, into=tenant.product, actor=tenant.hr)
        assert set(TeamManagement.objects.filter(membership=lead).values_list("team", flat=True)) == {
            tenant.platform.pk
        }
        assert Membership.objects.get(pk=tenant.employee.pk).team_id == tenant.product.pk
        roster_change_undo(change=last_change(tenant), actor=tenant.hr)
        team_services.team_merge(team=tenant.platform, into=tenant.product, actor=tenant.hr, leads_follow=True)
        assert set(TeamManagement.objects.filter(membership=lead).values_list("team", flat=True)) == {
            tenant.platform.pk,
            tenant.product.pk,
        }
        assert "2 people and 0 teams moved, 1 lead added to Product." in last_change(tenant).summary


def test_an_undo_is_refused_while_a_later_change_wrote_the_same_person_and_allowed_once_that_is_undone(tenant):
    with tenant.scope():
        people_services.person_update(
            membership=tenant.employee, actor=tenant.hr, fields=fields(tenant.employee, team=tenant.product)
        )
        first = last_change(tenant)
        people_services.person_update(
            membership=tenant.employee, actor=tenant.hr, fields=fields(tenant.employee, role=Role.MANAGER)
        )
        second = last_change(tenant)
        people_services.person_deactivate(membership=tenant.manager, actor=tenant.hr)  # someone else: no conflict
        with refused("undo", match="A later change .*Changed .*role Employee → Manager.* Undo that one first"):
            roster_change_undo(change=first, actor=tenant.hr)
        assert Membership.objects.get(pk=tenant.employee.pk).team_id == tenant.product.pk
        roster_change_undo(change=second, actor=tenant.hr)
        roster_change_undo(change=first, actor=tenant.hr)
        employee = Membership.objects.get(pk=tenant.employee.pk)
        assert (employee.team_id, employee.role) == (tenant.platform.pk, Role.EMPLOYEE)
        assert not Membership.objects.get(pk=tenant.manager.pk).is_active  # the unrelated change stands
        with refused("undo", match="undone already"):
            roster_change_undo(change=first, actor=tenant.hr)


def test_an_undo_is_refused_when_what_it_would_put_back_was_changed_outside_the_history(tenant):
    with tenant.scope():
        people_services.person_update(
            membership=tenant.employee, actor=tenant.hr, fields=fields(tenant.employee, team=tenant.product)
        )
        Membership.objects.filter(pk=tenant.employee.pk).update(team=tenant.engineering)  # the admin, say
        with refused("undo", match="team, role or activity changed since, outside the roster history"):
            roster_change_undo(change=last_change(tenant), actor=tenant.hr)
        assert Membership.objects.get(pk=tenant.employee.pk).team_id == tenant.engineering.pk


def test_undoing_a_move_puts_the_team_back_under_its_parent_as_that_parent_is_now_called(tenant):
    with tenant.scope():
        sales = TeamFactory(parent=tenant.root, name="Sales")
        team_services.team_move(team=tenant.platform, parent=sales, actor=tenant.hr)
        move = last_change(tenant)
        team_services.team_rename(team=tenant.engineering, name="R&D", actor=tenant.hr)  # its old parent
        roster_change_undo(change=move, actor=tenant.hr)
        assert Team.objects.get(pk=tenant.platform.pk).path == "Acme/R&D/Platform"


def test_undoing_a_move_is_refused_when_a_team_of_the_same_name_took_its_old_place(tenant):
    with tenant.scope():
        team_services.team_move(team=tenant.platform, parent=tenant.root, actor=tenant.hr)
        move = last_change(tenant)
        TeamFactory(parent=tenant.engineering, name="Platform")
        with refused("name", match="Another team there already has this name"):
            roster_change_undo(change=move, actor=tenant.hr)
        assert Team.objects.get(pk=tenant.platform.pk).path == "Acme/Platform"


def test_entries_without_what_they_replaced_and_undo_entries_cannot_be_undone(tenant):
    with tenant.scope():
        old = RosterChange.objects.create(kind=RosterChangeKind.PERSON, summary="Changed someone.")
        assert not old.undoable
        with refused("undo", match="cannot be undone"):
            roster_change_undo(change=old, actor=tenant.hr)
        team_services.team_rename(team=tenant.product, name="Products", actor=tenant.hr)
        entry = roster_change_undo(change=last_change(tenant), actor=tenant.hr)
        assert entry.kind == RosterChangeKind.UNDO and not entry.undoable


# Previews ------------------------------------------------------------------------------------------


def test_a_merge_preview_names_the_lead_who_would_see_the_team_and_changes_nothing(
    tenant, django_capture_on_commit_callbacks
):
    with tenant.scope():
        lead = make_manager(
            MembershipFactory(organization=tenant.org, role=Role.MANAGER, team=tenant.platform), tenant.platform
        )
        before = roster_state(tenant)
        history = RosterChange.objects.count()
        with django_capture_on_commit_callbacks(execute=True) as queued:
            shown = access_change_preview(
                lambda: team_services.team_merge(
                    team=tenant.platform, into=tenant.product, actor=tenant.hr, leads_follow=True
                )
            )
    assert queued == [] and mail.outbox == []
    assert roster_state(tenant) == before and RosterChange.all_organizations.count() == history
    assert shown.recorded == (
        "Merged Acme/Engineering/Platform into Acme/Engineering/Product: 2 people and 0 teams moved, "
        "1 lead added to Product.",
    )
    (person,) = shown.people
    assert (person.email, person.loses) == (lead.user.email, None)
    assert person.gains.tops == (("Acme/Engineering/Product", 0),) and not person.gains.every
    with tenant.scope():
        again = access_change_preview(
            lambda: team_services.team_merge(team=tenant.platform, into=tenant.product, actor=tenant.hr)
        )
    assert again.people == () and again.fingerprint != shown.fingerprint  # without its leads: nobody gains


def test_previews_of_a_promotion_to_hr_and_of_a_deactivation_say_every_team(tenant):
    with tenant.scope():
        promotion = access_change_preview(
            lambda: people_services.person_update(
                membership=tenant.employee, actor=tenant.hr, fields=fields(tenant.employee, role=Role.HR)
            )
        )
        (person,) = promotion.people
        assert (person.role_before, person.role_after, person.gains.every, person.gains.count) == (
            "Employee",
            "HR",
            True,
            4,
        )
        leaving = access_change_preview(
            lambda: people_services.person_deactivate(membership=tenant.admin, actor=tenant.hr)
        )
        (person,) = leaving.people
        assert (person.active_before, person.active_after, person.loses.every) == (True, False, True)
        assert Membership.objects.get(pk=tenant.admin.pk).is_active


def test_a_move_preview_says_who_stops_and_who_starts_seeing_the_team(tenant):
    with tenant.scope():
        sales = TeamFactory(parent=tenant.root, name="Sales")
        seller = make_manager(MembershipFactory(organization=tenant.org, role=Role.MANAGER, team=sales), sales)
        shown = access_change_preview(
            lambda: team_services.team_move(team=tenant.platform, parent=sales, actor=tenant.hr)
        )
    by_email = {person.email: person for person in shown.people}
    assert by_email[tenant.manager.user.email].loses.tops == (("Acme/Engineering/Platform", 0),)
    assert by_email[seller.user.email].gains.tops == (("Acme/Sales/Platform", 0),)
    assert set(by_email) == {tenant.manager.user.email, seller.user.email}  # HR see every team either way


def test_a_refused_change_is_refused_by_its_preview_too(tenant):
    with tenant.scope(), refused("active", match="You cannot deactivate yourself."):
        access_change_preview(lambda: people_services.person_deactivate(membership=tenant.hr, actor=tenant.hr))


# One rule for who sees which team ---------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parents=st.lists(st.integers(min_value=0, max_value=8), min_size=1, max_size=8),
    people_=st.lists(
        st.tuples(
            st.sampled_from([Role.EMPLOYEE, Role.MANAGER, Role.HR, Role.ADMIN]),
            st.booleans(),
            st.lists(st.integers(min_value=0, max_value=8), max_size=3),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_results_readers_and_team_readers_say_what_visible_teams_says(tenant, parents, people_):
    with tenant.scope(), transaction.atomic():
        teams = [tenant.root]
        for n, parent in enumerate(parents):
            # Each name is a prefix of the next: a rule that compared paths as strings would leak.
            teams.append(TeamFactory(parent=teams[parent % len(teams)], name="T" + "1" * n))
        for role, active, led in people_:
            member = MembershipFactory(organization=tenant.org, role=role, team=teams[0], is_active=active)
            for index in led:
                TeamManagement.objects.get_or_create(team=teams[index % len(teams)], membership=member)
        readers = results_readers()
        for member in Membership.objects.all():
            expected = set(visible_teams(member).values_list("pk", flat=True)) if member.is_active else set()
            assert set(readers.get(member.pk, ())) == expected, member
        for team in Team.objects.all():
            expected = {pk for pk, seen in readers.items() if team.pk in seen}
            assert set(team_readers(team).values_list("pk", flat=True)) == expected, team
        transaction.set_rollback(True)  # the next example starts from the fixture's roster


@pytest.fixture(autouse=True)
def _no_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
