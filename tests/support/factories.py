"""factory_boy factories. Tenant rows take `organization` explicitly, like bulk jobs do, so
factories work with or without an organisation in scope."""

import datetime as dt
import hashlib
import secrets

import factory
from django.utils import timezone

from surveys.core.tenancy import organization_scope
from surveys.models import (
    Invitation,
    Membership,
    Organization,
    Question,
    Role,
    Round,
    RoundQuestion,
    RoundStatus,
    Survey,
    SurveyQuestion,
    Team,
    TeamManagement,
    User,
)

PASSWORD = "correct-horse-battery"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")
    parent = None
    path = factory.LazyAttribute(lambda o: f"{o.parent.path}/{o.name}" if o.parent else o.name)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        parent = kwargs.get("parent")
        if parent is not None:
            kwargs["organization"] = parent.organization
        return model_class.all_organizations.create(*args, **kwargs)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.EMPLOYEE
    team = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.all_organizations.create(*args, **kwargs)


def make_manager(membership: Membership, *teams: Team) -> Membership:
    for team in teams:
        TeamManagement.all_organizations.create(organization=membership.organization, team=team, membership=membership)
    return membership


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Pulse {n}")
    launched_at = factory.LazyFunction(timezone.now)  # running; pass launched_at=None for a draft

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        survey = model_class.all_organizations.create(*args, **kwargs)
        core = Question.all_organizations.filter(organization=None, is_core=True).order_by("position")
        SurveyQuestion.all_organizations.bulk_create(
            SurveyQuestion(organization=survey.organization, survey=survey, question=q, position=i)
            for i, q in enumerate(core)
        )
        return survey


class RoundFactory(factory.django.DjangoModelFactory):
    """An open round whose questions are its survey's. Invitations are made with `invite`."""

    class Meta:
        model = Round

    survey = factory.SubFactory(SurveyFactory)
    organization = factory.LazyAttribute(lambda o: o.survey.organization)
    number = factory.Sequence(lambda n: n + 1)
    status = RoundStatus.OPEN
    opens_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=4))
    scope_root = factory.LazyAttribute(lambda o: o.survey.root_team)
    k = factory.LazyAttribute(lambda o: o.organization.k)
    k_comments = factory.LazyAttribute(lambda o: o.organization.k_comments)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        round_ = model_class.all_organizations.create(*args, **kwargs)
        if round_.status != RoundStatus.SCHEDULED:
            snapshot_invited(round_)  # what round_open freezes: the tree and who was invited
        RoundQuestion.all_organizations.bulk_create(
            RoundQuestion(
                organization=round_.organization, round=round_, question_id=sq.question_id, position=sq.position
            )
            for sq in SurveyQuestion.all_organizations.filter(survey=round_.survey)
        )
        return round_


def scheduled_round(survey, *, number=1, opens_in=dt.timedelta(hours=-1), days=4) -> Round:
    """A round waiting to open (`opens_in` from now: negative when it is due), `days` long."""
    opens_at = timezone.now() + opens_in
    return RoundFactory(
        survey=survey,
        number=number,
        status=RoundStatus.SCHEDULED,
        opens_at=opens_at,
        closes_at=opens_at + dt.timedelta(days=days),
        k=None,
        k_comments=None,
    )


def invite(round_: Round, membership: Membership, team: Team | None = None) -> tuple[Invitation, str]:
    """Invite one person; returns the invitation and its clear-text token."""
    token = secrets.token_urlsafe(32)
    invitation = Invitation.all_organizations.create(
        organization=round_.organization,
        round=round_,
        membership=membership,
        team=team or membership.team,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
    )
    snapshot_invited(round_)
    return invitation, token


def snapshot_invited(round_: Round) -> None:
    """What `round_open` writes beside the invitations it creates: invited people per team.
    Tests that add invitations by hand call this, so the snapshot stays the round's truth."""
    from surveys.services.rounds import round_team_snapshot, round_units_freeze

    with organization_scope(round_.organization):
        round_team_snapshot(round_=round_)
        if round_.k is not None:
            round_units_freeze(round_=round_)
