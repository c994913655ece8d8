"""Gatekeepers: the only way a view reaches a tenant object.

Every function takes who is asking and what they ask for, and returns the object or raises
Http404. "Does not exist", "belongs to another organisation" and "you may not see it" all give
the same 404, so ids and slugs cannot be probed to learn what exists elsewhere. Role checks
that do not depend on a particular object (an employee opening an HR page) answer 403, since
the page's existence is no secret. The one gatekeeper without a signed-in user,
`access_invitation`, raises a `PulseError` with status 404 instead, so the answering page can
explain kindly what to do with a link that does not work.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from surveys.core.exceptions import PulseError
from surveys.core.tenancy import across_organizations, organization_scope
from surveys.core.tokens import token_hash
from surveys.models import (
    HR_ROLES,
    MANAGER_ROLES,
    ActionPlan,
    ApiKey,
    Invitation,
    Membership,
    Organization,
    Role,
    RosterChange,
    RosterImport,
    Round,
    ScimHeldDeactivation,
    ScimToken,
    Survey,
    Team,
    TeamManagement,
    User,
)


def access_membership(*, user: User, org_slug: str) -> Membership:
    """The active membership of `user` in the organisation `org_slug`, or 404.

    Stops: reaching organisation B by putting its slug in the URL. Uses `all_organizations`
    because this is the lookup that establishes the scope in the first place.
    """
    with across_organizations():
        membership = (
            Membership.all_organizations.select_related("organization", "user", "team")
            .filter(organization__slug=org_slug, organization__is_active=True, user=user, is_active=True)
            .first()
        )
    if membership is None:
        raise Http404(_("No such organisation."))
    return membership


def require_role(membership: Membership, *roles: str) -> None:
    """403 unless the membership has one of `roles`.

    Stops: an employee opening manager pages, a manager opening HR pages.
    """
    if membership is None or membership.role not in roles:
        raise PermissionDenied(_("Your role in this organisation does not include this page."))


def role_required(*roles: str) -> Callable:
    """View decorator form of `require_role`, for views under /o/<org_slug>/.

    Every organisation view declares its roles with it (`ALL_ROLES` for pages every member
    may open); the test suite reads `required_roles` to check each page against each role.
    """

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            require_role(request.membership, *roles)
            return view(request, *args, **kwargs)

        cast(Any, wrapped).required_roles = frozenset(roles)
        return wrapped

    return decorate


def visible_teams(membership: Membership) -> QuerySet[Team]:
    """Teams whose results `membership` may see: all for HR and admins; for a manager, each
    team they lead and everything below it; nothing for an employee.

    Stops: a manager reading the results of a team they do not lead (a peer's, or their own
    manager's). Employees see their team's published results only through the answering flow.
    """
    if membership.role in HR_ROLES:
        return Team.objects.all()
    if membership.role != Role.MANAGER:
        return Team.objects.none()
    led = TeamManagement.objects.filter(membership=membership).values_list("team__path", flat=True)
    paths = list(led)
    if not paths:
        return Team.objects.none()
    condition = None
    for path in paths:
        subtree = Team(path=path).subtree_filter()
        condition = subtree if condition is None else condition | subtree
    return Team.objects.filter(condition)


def results_readers() -> dict[int, frozenset[int]]:
    """`visible_teams` of every active member of the organisation in scope at once: membership
    id → the ids of the teams whose results they may see (members who see none are left out).
    Three queries, whatever the size of the roster.

    The same rule as `visible_teams`, for everyone: a preview of a roster change compares this
    map before and after the change to name every access it grants or removes
    (tests/test_roster_changes.py checks the two agree on random trees). Stops: a preview that
    tells HR a merge or a promotion changes nothing while it lets someone read a new team.
    """
    teams = list(Team.objects.values_list("id", "path"))
    every = frozenset(team_id for team_id, _ in teams)
    readers: dict[int, frozenset[int]] = {}
    members = Membership.objects.filter(is_active=True, role__in=MANAGER_ROLES).values_list("id", "role")
    led: dict[int, list[str]] = {}
    for membership_id, path in TeamManagement.objects.filter(
        membership__is_active=True, membership__role=Role.MANAGER
    ).values_list("membership_id", "team__path"):
        led.setdefault(membership_id, []).append(path)
    for membership_id, role in members:
        if role in HR_ROLES:
            readers[membership_id] = every
            continue
        paths = led.get(membership_id, [])
        seen = frozenset(team_id for team_id, path in teams if any(Team.path_within(path, top) for top in paths))
        if seen:
            readers[membership_id] = seen
    return readers


def team_readers(team: Team) -> QuerySet[Membership]:
    """The active members who may see `team`'s results: HR and admins, and managers who lead
    it or a team above it. `visible_teams` turned round, for choosing who owns a team's action
    plan and for checking, before e-mailing an owner about the plan, that they still may.

    Stops: a plan handed to (and e-mailed to) someone who may not read the team's results.
    """
    leads_above = Q(role=Role.MANAGER, management__team__path__in=Team.path_prefixes(team.path))
    ids = Membership.objects.filter(Q(role__in=HR_ROLES) | leads_above, is_active=True).values("id")
    return Membership.objects.filter(pk__in=ids)


def access_team(*, membership: Membership, team_id: int) -> Team:
    """A team whose results `membership` may see, or 404 (missing, other tenant, or not theirs)."""
    team = visible_teams(membership).filter(pk=team_id).first()
    if team is None:
        raise Http404(_("No such team."))
    return team


def access_action_plan(*, team: Team, plan_id: int) -> ActionPlan:
    """An action plan of `team` (already reached through `access_team`), or 404.

    Stops: pairing a team one may see with the id of another team's plan (a peer's, or another
    organisation's) to read or change it.
    """
    plan = (
        ActionPlan.objects.select_related("team", "round__survey", "owner__user").filter(team=team, pk=plan_id).first()
    )
    if plan is None:
        raise Http404(_("No such action plan."))
    return plan


def access_roster_import(*, membership: Membership, import_id: int) -> RosterImport:
    """A roster import of the membership's organisation, for HR and admins only, or 404.

    Stops: HR of another organisation reading this one's import reports (which name its people
    and their emails) by guessing ids, and anyone without HR rights reading them at all. The
    uploaded file itself is not loaded: progress polling must stay cheap.
    """
    if membership.role not in HR_ROLES:
        raise Http404(_("No such import."))
    roster_import = (
        RosterImport.objects.filter(organization=membership.organization, pk=import_id)
        .select_related("uploaded_by__user")
        .defer("content")
        .first()
    )
    if roster_import is None:
        raise Http404(_("No such import."))
    return roster_import


def access_person(*, membership: Membership, person_id: int) -> Membership:
    """A person (membership) of the membership's organisation, for HR and admins only, or 404.

    Stops: HR of another organisation changing this one's people by guessing ids (users are
    global; memberships are not), and anyone without HR rights reaching a person's page.
    """
    if membership.role not in HR_ROLES:
        raise Http404(_("No such person."))
    person = Membership.objects.select_related("user", "team").filter(pk=person_id).first()
    if person is None:
        raise Http404(_("No such person."))
    return person


def access_roster_change(*, membership: Membership, change_id: int) -> RosterChange:
    """An entry of the organisation's roster history, for HR and admins only, or 404."""
    if membership.role not in HR_ROLES:
        raise Http404(_("No such change."))
    change = RosterChange.objects.filter(pk=change_id).first()
    if change is None:
        raise Http404(_("No such change."))
    return change


def access_api_key(*, membership: Membership, prefix: str) -> ApiKey:
    """An API key of the organisation (by its public prefix), for HR and admins only, or 404."""
    if membership.role not in HR_ROLES:
        raise Http404(_("No such key."))
    api_key = ApiKey.objects.filter(prefix=prefix).first()
    if api_key is None:
        raise Http404(_("No such key."))
    return api_key


def access_scim_token(*, membership: Membership, prefix: str) -> ScimToken:
    """A SCIM token of the organisation (by its public prefix), for HR and admins only, or 404."""
    if membership.role not in HR_ROLES:
        raise Http404("No such token.")
    token = ScimToken.objects.select_related("created_by__user").filter(prefix=prefix).first()
    if token is None:
        raise Http404("No such token.")
    return token


def access_scim_held(*, membership: Membership, held_id: int) -> ScimHeldDeactivation:
    """A deactivation held from SCIM, for HR and admins only, or 404."""
    if membership.role not in HR_ROLES:
        raise Http404("No such deactivation.")
    held = ScimHeldDeactivation.objects.filter(pk=held_id).first()
    if held is None:
        raise Http404("No such deactivation.")
    return held


def access_scim_person(*, resource_id: str) -> Membership:
    """A person of the organisation in scope as SCIM names them (their membership's id), or
    None when there is none: missing, another organisation's (the scoped manager cannot see
    it), not a number, or deleted by the identity provider (RFC 7644 §3.6: 404 from then on).

    Stops: a token of one organisation reaching another's people by guessing ids; both look
    missing, to the same answer."""
    if not resource_id.isdigit() or len(resource_id) > 18:
        raise Http404("No such person.")
    membership = (
        Membership.objects.select_related("user", "team", "scim")
        .filter(pk=int(resource_id))
        .exclude(scim__deleted_at__isnull=False)
        .first()
    )
    if membership is None:
        raise Http404("No such person.")
    return membership


def access_scim_team(*, resource_id: str) -> Team:
    """A team of the organisation in scope as SCIM names it (its id), or 404: missing, another
    organisation's, not a number, or deleted by the identity provider. Same answer for all."""
    if not resource_id.isdigit() or len(resource_id) > 18:
        raise Http404("No such team.")
    team = (
        Team.objects.select_related("scim").filter(pk=int(resource_id)).exclude(scim__deleted_at__isnull=False).first()
    )
    if team is None:
        raise Http404("No such team.")
    return team


def access_survey(*, membership: Membership, survey_id: int) -> Survey:
    """A survey of the membership's organisation that it may run (HR and admins), or 404.

    Stops: reaching another organisation's survey by its id; the scoped manager confines the
    lookup to the organisation in the URL, so "theirs" and "missing" look the same.
    """
    if membership.role not in HR_ROLES:
        raise Http404(_("No such survey."))
    survey = Survey.objects.select_related("root_team").filter(pk=survey_id).first()
    if survey is None:
        raise Http404(_("No such survey."))
    return survey


def access_round(*, survey: Survey, round_id: int) -> Round:
    """A round of `survey` (already reached through `access_survey`), or 404.

    Stops: pairing a survey one may see with a round id of another survey or organisation.
    """
    round_ = Round.objects.filter(pk=round_id, survey=survey).first()
    if round_ is None:
        raise Http404(_("No such round."))
    return round_


LINK_INVALID_MESSAGE = (
    "This link does not work. It may be incomplete, or a newer reminder e-mail may have replaced it: "
    "please use the link in the most recent e-mail about this pulse."
)


def access_invitation(*, org_slug: str, token: str) -> Invitation:
    """The invitation behind an answering link, or `PulseError(code="link_invalid", status=404)`.

    The link is the only key (no sign-in), so the lookup is by organisation AND the token's
    hash. Stops:
    - guessing or forging links: only the SHA-256 is stored, and an unknown hash finds nothing;
    - a reminder's replaced link still working: rotation overwrites the hash, so the old token
      no longer matches any row;
    - crossing tenants: organisation B's token under organisation A's slug finds nothing;
    - probing: unknown organisation, unknown token, replaced token, a deactivated organisation
      or a person who has left all give the same error, so the page reveals none of them.
    The organisation the link names is looked up first and its scope set, since the web's
    database role sees no invitation outside a scope; then the invitation, without ordering, on
    purpose: it runs on every submission (docs/decisions/2026-11-24-lean-submission-path.md).
    """
    organization = Organization.objects.filter(slug=org_slug, is_active=True).first()
    invitation = None
    if organization is not None:
        # The organisation is named by the link, so its scope is set first: the web's database
        # role sees no invitation outside it.
        with organization_scope(organization):
            found = Invitation.objects.filter(token_hash=token_hash(token), membership__is_active=True).order_by()[:1]
            invitation = next(iter(found), None)
    if organization is None or invitation is None:
        raise PulseError(LINK_INVALID_MESSAGE, code="link_invalid", status=404)
    invitation.organization = organization
    return invitation


def access_round_invitation(*, membership: Membership, round_id: int) -> Invitation:
    """The signed-in member's own invitation to round `round_id`, or 404.

    Stops: a member answering (or learning the state of) a round they were not invited to, or
    a round of another organisation; only the member's own invitation is ever looked at, so no
    one can reach another person's invitation through this route.
    """
    found = (
        Invitation.objects.select_related("organization")
        .filter(membership=membership, round_id=round_id)
        .order_by()[:1]
    )
    invitation = next(iter(found), None)
    if invitation is None:
        raise Http404(_("No such pulse."))
    return invitation
