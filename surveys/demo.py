"""The demo organisations seeded by `manage.py demo` (and `make demo`).

Deterministic: the same people, teams and answers on every machine, so the README can describe
what a new user will see.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password

from surveys.models import Membership, Organization, Role, Team, TeamManagement, User
from surveys.tenancy import organization_scope

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
    name: str
    members: int
    children: list[DemoTeam] = field(default_factory=list)
    lead: str | None = None  # e-mail local part of the team's manager
    named: tuple[str, ...] = ()  # e-mail local parts of named employees


NORTHWIND_TREE = DemoTeam(
    "Northwind",
    members=2,
    lead="ceo",
    children=[
        DemoTeam(
            "Engineering",
            members=1,
            lead="manager",
            children=[
                DemoTeam("Platform", members=9, lead="platform.lead", named=("employee",)),
                DemoTeam("Payments", members=8, lead="payments.lead"),
                DemoTeam("Mobile", members=7, lead="mobile.lead"),
            ],
        ),
        DemoTeam(
            "Operations",
            members=1,
            lead="ops.head",
            children=[
                DemoTeam(
                    "Support",
                    members=1,
                    lead="support.lead",
                    children=[
                        DemoTeam("Support EMEA", members=8, lead="emea.lead"),
                        DemoTeam("Support Americas", members=7, lead="americas.lead"),
                    ],
                ),
                DemoTeam("Logistics", members=8, lead="logistics.lead"),
            ],
        ),
        DemoTeam(
            "Sales",
            members=1,
            lead="sales.head",
            children=[
                DemoTeam("Field Sales", members=9, lead="field.lead"),
                DemoTeam("Inside Sales", members=6, lead="inside.lead"),
            ],
        ),
        DemoTeam("People & Culture", members=3, lead="hr"),
    ],
)

GLOBEX_TREE = DemoTeam(
    "Globex Labs",
    members=1,
    lead="director",
    children=[DemoTeam("Research", members=6, lead="research.lead"), DemoTeam("Studio", members=5)],
)


DEMO_ORGANIZATIONS = (
    # slug, name, e-mail domain, tree, random seed
    ("northwind", "Northwind Health", "northwind.example", NORTHWIND_TREE, 7),
    ("globex", "Globex Labs", "globex.example", GLOBEX_TREE, 11),
)

#: (who, e-mail, what they can try) printed by `manage.py demo`.
DEMO_LOGINS = (
    ("HR", "hr@northwind.example", "roster, surveys, rounds, the organisation's results"),
    ("Manager", "manager@northwind.example", "leads Engineering: Platform, Payments and Mobile"),
    ("Employee", "employee@northwind.example", "a member of Engineering/Platform"),
    ("Other organisation", "director@globex.example", "Globex Labs, a second tenant"),
    ("Staff (Django admin)", "staff@pulse.example", "/admin/ (counts only, never answers)"),
)


def demo_seed_organization(*, slug: str, name: str, domain: str, tree: DemoTeam, seed: int) -> Organization:
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
    path = f"{parent.path}/{spec.name}" if parent else spec.name
    team = Team.objects.create(name=spec.name, parent=parent, path=path)
    named = list(spec.named)
    if spec.lead:
        lead = people.add(local=spec.lead, role=Role.HR if spec.lead == "hr" else Role.MANAGER, team=team)
        TeamManagement.objects.create(team=team, membership=lead)
    for local in named:
        people.add(local=local, role=Role.EMPLOYEE, team=team)
    for _ in range(spec.members - len(named) - (1 if spec.lead else 0)):
        people.add(local=None, role=Role.EMPLOYEE, team=team)
    for child in spec.children:
        _add_team(child, parent=team, people=people)
    return team


def demo_seed() -> list[Organization]:
    """Both demo organisations and a staff account for the Django admin."""
    organizations = [
        demo_seed_organization(slug=slug, name=name, domain=domain, tree=tree, seed=seed)
        for slug, name, domain, tree, seed in DEMO_ORGANIZATIONS
    ]
    User.objects.create_superuser("staff@pulse.example", DEMO_PASSWORD, name="Pulse staff")
    return organizations


def demo_remove() -> None:
    """Delete the demo organisations and every account of their e-mail domains."""
    Organization.objects.filter(slug__in=[row[0] for row in DEMO_ORGANIZATIONS]).delete()
    for _, _, domain, _, _ in DEMO_ORGANIZATIONS:
        User.objects.filter(email__endswith=f"@{domain}").delete()
    User.objects.filter(email="staff@pulse.example").delete()


def demo_exists() -> bool:
    return Organization.objects.filter(slug=DEMO_ORGANIZATIONS[0][0]).exists()
