"""Roster files and what an organisation's roster looks like, for the roster tests."""

from __future__ import annotations

from surveys.models import Membership, RosterImportMode, Team, TeamManagement, User
from surveys.services.roster import plan_preview, roster_apply, roster_plan
from surveys.services.roster_file import roster_validate

HEADER = "email,name,team,role,manages"

#: A roster for the `tenant` fixture's organisation (Acme): two people of the fixture left out.
ACME = (
    "hr@acme.test,Hana HR,Acme,hr,",
    "admin@acme.test,Ada Admin,Acme,admin,",
    "lead@acme.test,Lee Lead,Acme/Engineering,manager,Acme/Engineering;Acme/Engineering/Platform",
    "dev@acme.test,Dev One,Acme/Engineering/Platform,employee,",
    "new@acme.test,New Person,Acme/Sales/North,employee,",
)


def roster(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def counts() -> dict[str, int]:
    """How many of everything, across organisations."""
    return {
        "users": User.objects.count(),
        "memberships": Membership.all_organizations.count(),
        "active": Membership.all_organizations.filter(is_active=True).count(),
        "teams": Team.all_organizations.count(),
        "leads": TeamManagement.all_organizations.count(),
    }


def preview(tenant, content: bytes, importer=None, mode: str = RosterImportMode.SYNC) -> dict:
    """What importing `content` would change, as HR's preview shows it."""
    check = roster_validate(content=content)
    assert check.ok, check.errors
    with tenant.scope():
        return plan_preview(roster_plan(organization=tenant.org, rows=check.rows, mode=mode, importer=importer))


def apply(tenant, content: bytes, importer=None, mode: str = RosterImportMode.SYNC) -> dict:
    """Plan and write `content` at once (what a confirmed preview does); returns the summary."""
    check = roster_validate(content=content)
    assert check.ok, check.errors
    with tenant.scope():
        plan = roster_plan(organization=tenant.org, rows=check.rows, mode=mode, importer=importer)
        return roster_apply(organization=tenant.org, plan=plan, actor=importer)


def people(tenant) -> dict[str, tuple]:
    """email -> (name, role, team path, active) for everyone of the tenant."""
    with tenant.scope():
        return {
            m.user.email: (m.user.name, m.role, m.team.path if m.team else None, m.is_active)
            for m in Membership.objects.select_related("user", "team")
        }


def leads(tenant) -> set[tuple[str, str]]:
    with tenant.scope():
        return set(TeamManagement.objects.values_list("membership__user__email", "team__path"))
