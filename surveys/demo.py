"""The demo organisations seeded by `manage.py demo` (and `make demo`).

Deterministic: the same people, teams and answers on every machine, so the README can describe
what a new user will see.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from surveys.core.tenancy import across_organizations, organization_scope
from surveys.models import (
    Cadence,
    Construct,
    Invitation,
    Membership,
    Organization,
    Participation,
    Question,
    Role,
    Round,
    RoundQuestion,
    RoundStatus,
    Team,
    TeamManagement,
    User,
)
from surveys.services.identity import identity_provider_save
from surveys.services.invitations import invitation_link_issue
from surveys.services.responses import response_submit
from surveys.services.results import round_publish
from surveys.services.rounds import round_close, round_open
from surveys.services.scim_tokens import scim_token_create
from surveys.services.surveys import SurveyFields, survey_create

DEMO_PASSWORD = "pulse-demo"

FIRST_NAMES = [
    "Ada",
    "Amara",
    "Ben",
    "Bruno",
    "Carla",
    "Chen",
    "Dana",
    "Diego",
    "Elif",
    "Emil",
    "Fatima",
    "Finn",
    "Grace",
    "Hamid",
    "Ines",
    "Ivan",
    "Jana",
    "Joao",
    "Kai",
    "Keiko",
    "Lars",
    "Lena",
    "Maya",
    "Mateo",
    "Nadia",
    "Nils",
    "Omar",
    "Olga",
    "Priya",
    "Pavel",
    "Quinn",
    "Rosa",
    "Ravi",
    "Sara",
    "Sven",
    "Tara",
    "Tomas",
    "Uma",
    "Victor",
    "Vera",
    "Wen",
    "Yara",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Adeyemi",
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Quist",
    "Rossi",
    "Sato",
    "Silva",
    "Tanaka",
    "Umar",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zielinski",
]


@dataclass
class DemoTeam:
    """A team of the demo tree. `employees` people belong to it besides the leads sitting in it.

    A department head usually sits in the leadership team above their department (`lead_sits`
    "parent"), as in most organisations; a team lead sits in their own team ("self") or in one
    of its sub-teams (that sub-team's name).
    """

    name: str
    employees: int
    lead: str | None = None  # e-mail local part of the team's manager
    lead_sits: str = "self"
    children: list[DemoTeam] = field(default_factory=list)
    named: tuple[str, ...] = ()  # e-mail local parts of named employees


NORTHWIND_TREE = DemoTeam(
    "Northwind",
    employees=2,
    lead="ceo",
    children=[
        DemoTeam(
            "Engineering",
            employees=0,
            lead="manager",
            lead_sits="parent",
            children=[
                DemoTeam("Platform", employees=8, lead="platform.lead", named=("employee",)),
                DemoTeam("Payments", employees=11, lead="payments.lead"),
                DemoTeam("Mobile", employees=11, lead="mobile.lead"),
            ],
        ),
        DemoTeam(
            "Operations",
            employees=0,
            lead="ops.head",
            lead_sits="parent",
            children=[
                DemoTeam(
                    "Support",
                    employees=0,
                    lead="support.lead",
                    lead_sits="Support EMEA",
                    children=[
                        DemoTeam("Support EMEA", employees=10, lead="emea.lead"),
                        DemoTeam("Support Americas", employees=11, lead="americas.lead"),
                    ],
                ),
                DemoTeam("Logistics", employees=7, lead="logistics.lead"),
            ],
        ),
        DemoTeam(
            "Sales",
            employees=0,
            lead="sales.head",
            lead_sits="parent",
            children=[
                DemoTeam("Field Sales", employees=11, lead="field.lead"),
                DemoTeam("Inside Sales", employees=5, lead="inside.lead"),
            ],
        ),
        DemoTeam("People & Culture", employees=2, lead="hr"),
    ],
)

GLOBEX_TREE = DemoTeam(
    "Globex Labs",
    employees=0,
    lead="director",
    children=[DemoTeam("Research", employees=5, lead="research.lead"), DemoTeam("Studio", employees=5)],
)


DEMO_ORGANIZATIONS = (
    # slug, name, e-mail domain, tree, random seed, closed rounds before the open one
    ("northwind", "Northwind Health", "northwind.example", NORTHWIND_TREE, 7, 6),
    ("globex", "Globex Labs", "globex.example", GLOBEX_TREE, 11, 3),
)
DEMO_EMPLOYEE = "employee@northwind.example"
#: Demo logins who have not answered the open round yet, so they can try it.
DEMO_NOT_ANSWERED = ("employee", "manager", "hr", "director")

#: Where the demo's answers sit on the 1–5 scale when nothing special happens in a team.
BASELINE: dict[str, float] = {
    Construct.AUTONOMY: 3.7,
    Construct.COMPETENCE: 3.8,
    Construct.RELATEDNESS: 3.9,
    Construct.BENEFICENCE: 4.0,
    Construct.EXHAUSTION: 2.3,
    Construct.MENTAL_DISTANCE: 1.9,
}
#: What happens in some teams over the demo's rounds: construct -> (before, after), 1.5 points
#: (about 37 index points) each, the change made mostly a month or so ago and held since
#: (`_story_progress`). The seven planted trends; in these teams of twelve people answering
#: 60–85% of the time, the change rule flags each of them (docs/measurement.md; tests/test_demo.py).
TEAM_STORIES: dict[str, dict[str, tuple[float, float]]] = {
    "Payments": {Construct.AUTONOMY: (3.9, 2.4), Construct.EXHAUSTION: (2.1, 3.6)},
    "Support EMEA": {Construct.EXHAUSTION: (2.3, 3.8), Construct.MENTAL_DISTANCE: (1.8, 3.3)},
    "Support Americas": {Construct.EXHAUSTION: (2.2, 3.7)},
    "Field Sales": {Construct.RELATEDNESS: (2.8, 4.3)},
    "Mobile": {Construct.COMPETENCE: (2.8, 4.3)},
}
#: The share of a team's people who answer a closed round: each team and round, a share drawn in
#: this range (as real organisations see, by team and from round to round).
RESPONSE = (0.60, 0.85)
COMMENTS = {
    Construct.AUTONOMY: (
        "Decisions about our roadmap keep arriving from above without a chance to weigh in.",
        "Small changes need too many approvals lately.",
    ),
    Construct.EXHAUSTION: (
        "The on-call load has been heavy for weeks and people are tired.",
        "Ticket volume keeps growing and we never catch up.",
        "I would like fewer late meetings across time zones.",
    ),
    Construct.RELATEDNESS: (
        "The new weekly team lunch has made a real difference.",
        "Pairing with colleagues from other offices has been great.",
    ),
    "any": (
        "Clearer priorities for next quarter would help.",
        "More time for focused work, please.",
        "Good few weeks: it felt like we shipped something useful.",
        "Thanks for actually acting on the last results.",
    ),
}

#: (who, e-mail, what they can try) printed by `manage.py demo`.
DEMO_LOGINS = (
    ("HR", "hr@northwind.example", "roster, surveys, rounds, the organisation's results"),
    ("Manager", "manager@northwind.example", "leads Engineering: Platform, Payments and Mobile"),
    ("Employee", "employee@northwind.example", "a member of Engineering/Platform"),
    ("Other organisation", "director@globex.example", "Globex Labs, a second tenant"),
    ("Staff (Django admin)", "staff@pulse.example", "/admin/ (counts only, never answers)"),
)


def demo_seed_organization(
    *, slug: str, name: str, domain: str, tree: DemoTeam, seed: int, rounds: int = 0
) -> Organization:
    """Create one demo organisation with its team tree and people; every password is DEMO_PASSWORD."""
    rng = random.Random(seed)
    organization = Organization.objects.create(
        slug=slug,
        name=name,
        support_text=(
            "Talking helps. Our confidential employee assistance line is open around the clock, "
            "and you can always ask People & Culture for a private conversation."
        ),
        support_links="Employee assistance line (24/7) | https://example.org/assistance\n"
        "Mental health first aiders | https://example.org/first-aiders",
    )
    people = _People(organization=organization, domain=domain, rng=rng, password=make_password(DEMO_PASSWORD))
    with organization_scope(organization):
        _add_team(tree, parent=None, people=people)
        if rounds:
            _History(organization=organization, domain=domain, rng=rng).seed(rounds=rounds)
            # Settings → SCIM provisioning lists a token, as after connecting an identity
            # provider (its secret is not kept: create another on the page to try SCIM).
            scim_token_create(organization=organization, created_by=None, name="Okta")
    return organization


@dataclass
class _People:
    organization: Organization
    domain: str
    rng: random.Random
    password: str
    made: int = 0

    def add(self, *, local: str | None, role: str, team: Team) -> Membership:
        self.made += 1
        name = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
        local = local or f"{name.lower().replace(' ', '.')}.{self.made}"
        user = User.objects.create(email=f"{local}@{self.domain}", name=name, password=self.password)
        return Membership.objects.create(organization=self.organization, user=user, role=role, team=team)


def _add_team(spec: DemoTeam, *, parent: Team | None, people: _People) -> Team:
    path = Team.child_path(parent, spec.name)
    team = Team.objects.create(name=spec.name, parent=parent, path=path)
    children = {child.name: _add_team(child, parent=team, people=people) for child in spec.children}
    if spec.lead:
        sits = {"self": team, "parent": parent}.get(spec.lead_sits) or children[spec.lead_sits]
        role = Role.HR if spec.lead == "hr" else Role.MANAGER
        lead = people.add(local=spec.lead, role=role, team=sits)
        TeamManagement.objects.create(team=team, membership=lead)
    for local in spec.named:
        people.add(local=local, role=Role.EMPLOYEE, team=team)
    for _ in range(spec.employees - len(spec.named)):
        people.add(local=None, role=Role.EMPLOYEE, team=team)
    return team


@dataclass
class _History:
    """A fortnightly pulse with `rounds` closed, published rounds and one open round, answered
    through the real services (open, submit, close, aggregate), then moved back in time."""

    organization: Organization
    domain: str
    rng: random.Random
    offsets: dict = field(default_factory=dict)

    def seed(self, *, rounds: int) -> None:
        hr = Membership.objects.filter(role__in=(Role.HR, Role.MANAGER)).order_by("role", "pk").first()
        survey = survey_create(
            organization=self.organization,
            created_by=hr,
            launch=True,
            fields=SurveyFields(
                name="Fortnightly pulse",
                questions=list(Question.objects.filter(organization=None, is_core=True)),
                cadence=Cadence.BIWEEKLY,
                open_days=5,
                starts_on=timezone.localdate(),
            ),
        )
        for number in range(1, rounds + 2):
            round_ = round_open(round_=Round.objects.get(survey=survey, status=RoundStatus.SCHEDULED))
            self._answer(round_, progress=_story_progress(number, rounds), current=number > rounds)
            if number <= rounds:
                round_close(round_=round_)
                # Queued on the close, and run at once in the demo; calling it again is harmless
                # (a round is sealed once, and publishing again writes the same rows).
                round_publish(round_id=round_.pk)
                self._backdate(round_, days_ago=14 * (rounds + 1 - number))

    def _answer(self, round_: Round, *, progress: float, current: bool) -> None:
        questions = list(RoundQuestion.objects.filter(round=round_).select_related("question"))
        invitations = Invitation.objects.filter(round=round_).select_related("membership__user", "team")
        for invitation in self._answering(list(invitations.order_by("pk")), current=current):
            answers = {
                rq.question_id: self._value(invitation, rq.question.construct, progress)
                for rq in questions
                if self.rng.random() > 0.03
            }
            response_submit(invitation=invitation, answers=answers, comment=self._comment(invitation.team.name))

    def _answering(self, invitations: list[Invitation], *, current: bool) -> list[Invitation]:
        """Who answers a round. A closed round: in each team, a number of its people whose share
        lies in RESPONSE, drawn afresh each round. The open round: about half so far, and none of
        the demo logins, so that they can try it."""
        if current:
            waiting = [i for i in invitations if i.membership.user.email.split("@")[0] not in DEMO_NOT_ANSWERED]
            return [i for i in waiting if self.rng.random() <= 0.45]
        teams: dict[int, list[Invitation]] = defaultdict(list)
        for invitation in invitations:
            teams[invitation.team_id].append(invitation)
        answering: list[Invitation] = []
        for people in teams.values():
            shares = [n for n in range(len(people) + 1) if RESPONSE[0] <= n / len(people) <= RESPONSE[1]]
            count = self.rng.choice(shares) if shares else round(len(people) * sum(RESPONSE) / 2)
            answering += self.rng.sample(people, count)
        return sorted(answering, key=lambda invitation: invitation.pk)

    def _value(self, invitation: Invitation, construct: str, progress: float) -> int:
        """An answer as docs/measurement.md models them: the team's level this round, the
        person's own lasting level, how this fortnight went for them (shared by the construct's
        items), and each item's own noise."""
        start, end = TEAM_STORIES.get(invitation.team.name, {}).get(construct, (BASELINE.get(construct, 3.8),) * 2)
        person = (invitation.membership_id, construct)
        if person not in self.offsets:
            self.offsets[person] = self.rng.gauss(0, 0.45)
        fortnight = (invitation.membership_id, construct, invitation.round_id)
        if fortnight not in self.offsets:
            self.offsets[fortnight] = self.rng.gauss(0, 0.3)
        level = start + (end - start) * min(progress, 1.0) + self.offsets[person] + self.offsets[fortnight]
        return min(5, max(1, round(level + self.rng.gauss(0, 0.45))))

    def _comment(self, team_name: str) -> str:
        if self.rng.random() > 0.12:
            return ""
        themes = [*TEAM_STORIES.get(team_name, {}), "any"]
        return self.rng.choice(COMMENTS.get(self.rng.choice(themes), COMMENTS["any"]))

    def _backdate(self, round_: Round, *, days_ago: int) -> None:
        opens = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0) - dt.timedelta(days=days_ago)
        closes = opens + dt.timedelta(days=5)
        Round.objects.filter(pk=round_.pk).update(
            opens_at=opens,
            opened_at=opens,
            closes_at=closes,
            closed_at=closes,
            reminders_sent_at=opens + dt.timedelta(days=2, hours=12),
            published_at=closes + dt.timedelta(minutes=5),
        )


def _story_progress(number: int, rounds: int) -> float:
    """How far a team's story has gone by round `number` of `rounds` closed ones: flat at first,
    most of the change in the two rounds before the latest three, then held (0, 0, .25, .75, 1, 1
    for six rounds): "things changed about a month ago and stayed that way"."""
    return min(max((number - (rounds - 3.5)) / 2, 0.0), 1.0)


def demo_employee_link() -> tuple[str | None, str]:
    """A fresh link for the demo employee's open pulse (only the hash is stored, so it is
    re-issued each time), or None and why not."""
    organization = Organization.objects.get(slug=DEMO_ORGANIZATIONS[0][0])
    with organization_scope(organization):
        invitation = (
            Invitation.objects.filter(membership__user__email=DEMO_EMPLOYEE, round__status=RoundStatus.OPEN)
            .select_related("organization", "round")
            .first()
        )
        if invitation is None or invitation.round.closes_at <= timezone.now():
            return None, "the demo's open round has closed since it was seeded (manage.py demo --reset)"
        if Participation.objects.filter(round=invitation.round, membership=invitation.membership).exists():
            return None, "the demo employee has already answered the open round (manage.py demo --reset)"
        return invitation_link_issue(invitation=invitation), ""


def demo_seed() -> list[Organization]:
    """Both demo organisations and a staff account for the Django admin."""
    organizations = [
        demo_seed_organization(slug=slug, name=name, domain=domain, tree=tree, seed=seed, rounds=rounds)
        for slug, name, domain, tree, seed, rounds in DEMO_ORGANIZATIONS
    ]
    User.objects.create_superuser("staff@pulse.example", DEMO_PASSWORD, name="Pulse staff")
    _demo_single_sign_on(organizations[0], domain=DEMO_ORGANIZATIONS[0][2])
    return organizations


def _demo_single_sign_on(organization: Organization, *, domain: str) -> None:
    """The first organisation's identity provider, filled in but off: the demo has no provider to
    reach, so its people keep their passwords (Settings, then Sign-in, shows it)."""
    identity_provider_save(
        organization=organization,
        protocol="oidc",
        is_enabled=False,
        label=f"{organization.name} sign-in",
        email_domains=domain,
        oidc_issuer=f"https://login.{domain}",
        oidc_client_id="pulse",
        oidc_client_secret="demo-secret-not-used",
    )


def demo_remove() -> None:
    """Delete the demo organisations and every account of their e-mail domains (and so their
    rows in every tenant table: spans organisations on purpose)."""
    with across_organizations():
        Organization.objects.filter(slug__in=[row[0] for row in DEMO_ORGANIZATIONS]).delete()
        for _, _, domain, *_ in DEMO_ORGANIZATIONS:
            User.objects.filter(email__endswith=f"@{domain}").delete()
    User.objects.filter(email="staff@pulse.example").delete()


def demo_exists() -> bool:
    return Organization.objects.filter(slug=DEMO_ORGANIZATIONS[0][0]).exists()
