"""What a round's figures hold for each team, and, for a team without figures, why not: the words
every page, e-mail and API response uses about it (docs/privacy.md, "Publication").

Everything here is public: the reporting units were frozen when the round opened, a unit is
hidden exactly when fewer than k of its people answered, and a Result lists the teams whose
people it holds. So a page may say precisely why a team has no figures and what would show it.
Reads the frozen tree, the units and the Results' team lists; never an answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from surveys.models import PublicationRule, Result, Round, RoundTeam, Team


class Reason(StrEnum):
    """Why a team's figures are, or are not, shown in a round."""

    SHOWN = "shown"
    TOO_FEW = "too_few"  # its unit had fewer than k respondents
    COUNTED_WITH = "counted_with"  # its people are counted in another team's unit
    NOBODY = "nobody"  # nobody was invited in it
    NOT_IN_ROUND = "not_in_round"  # outside the round's scope
    HIDDEN = "hidden"  # under the previous rule, one reason for both cases


@dataclass(frozen=True)
class Coverage:
    """One team in one round: whether it has figures of its own, what they hold, and why not."""

    team: Team
    round: Round
    reason: Reason
    people: int = 0  # invited in the team itself
    unit_people: int = 0  # invited in the reporting unit its people are counted in
    counted_with: Team | None = None  # the team whose unit holds this team's people, when another
    joined: tuple[Team, ...] = ()  # other teams whose people this team's unit holds (a lead, a small team)
    missing: tuple[Team, ...] = ()  # shown but partial: teams below whose answers passed above it
    missing_more: int = 0  # further missing teams, not named
    entered: Team | None = None  # hidden: the nearest team above whose figures hold its answers
    shown_below: int = 0  # hidden: teams below it with figures of their own

    @property
    def shown(self) -> bool:
        return self.reason == Reason.SHOWN

    @property
    def partial(self) -> bool:
        return bool(self.missing or self.missing_more)

    @property
    def k(self) -> int:
        return self.round.shown_k

    @property
    def links(self) -> list[int]:
        """The teams a page about this one may point to: where its answers are, whom it is counted with."""
        return [team.pk for team in (self.entered, self.counted_with) if team is not None]

    @property
    def percent_to_show(self) -> int | None:
        """The smallest response (per cent of its unit, rounded up) at which its unit shows."""
        return math.ceil(100 * self.k / self.unit_people) if self.unit_people >= self.k else None


def team_coverage(*, team: Team, round: Round) -> Coverage:
    """`Coverage` of one team. Three queries: the round's frozen tree and units, the Results
    of the team and the teams above it, and the names of the teams mentioned."""
    return _coverages(round, [team.pk], known={team.pk: team})[team.pk]


def round_coverage(*, round: Round, team_ids: list[int]) -> dict[int, Coverage]:
    """`Coverage` of each of `team_ids` (teams of the round's frozen tree). Three queries."""
    return _coverages(round, team_ids, known={})


@dataclass
class _Tree:
    """The round's frozen tree: each team's parent, people invited in it, and unit."""

    parent: dict[int, int | None] = field(default_factory=dict)
    invited: dict[int, int] = field(default_factory=dict)
    unit: dict[int, int | None] = field(default_factory=dict)

    @cached_property
    def children(self) -> dict[int | None, list[int]]:
        children: dict[int | None, list[int]] = {}
        for child, up in self.parent.items():
            children.setdefault(up, []).append(child)
        return children

    @cached_property
    def members(self) -> dict[int, list[int]]:
        members: dict[int, list[int]] = {}
        for team, unit in self.unit.items():
            if unit is not None:
                members.setdefault(unit, []).append(team)
        return members

    def above(self, team: int) -> list[int]:
        chain, up = [], self.parent.get(team)
        while up is not None:
            chain.append(up)
            up = self.parent.get(up)
        return chain

    def below(self, team: int) -> list[int]:
        found, stack = [], list(self.children.get(team, []))
        while stack:
            here = stack.pop()
            found.append(here)
            stack.extend(self.children.get(here, []))
        return found


def _coverages(round_: Round, team_ids: list[int], *, known: dict[int, Team]) -> dict[int, Coverage]:
    rows = RoundTeam.objects.filter(round=round_).values_list("team_id", "parent_id", "invited", "unit_id")
    tree = _Tree()
    for team_id, parent_id, invited, unit_id in rows:
        tree.parent[team_id], tree.invited[team_id], tree.unit[team_id] = parent_id, invited, unit_id
    wanted = {t for team in team_ids for t in (team, *tree.above(team))}
    results = {
        team_id: (set(covered), partial)
        for team_id, covered, partial in Result.objects.filter(round=round_, team_id__in=sorted(wanted)).values_list(
            "team_id", "covered_teams", "partial"
        )
    }
    drafts = {team: _draft(round_, tree, results, team) for team in team_ids}
    mentioned = {t for draft in drafts.values() for t in draft.mentioned()} | set(team_ids)
    teams = {**Team.objects.in_bulk(sorted(mentioned - set(known))), **known}
    return {team: draft.coverage(round_, teams, team) for team, draft in drafts.items()}


#: A partial figure names this many of the teams it leaves out, then counts the rest.
MISSING_NAMED = 5


@dataclass
class _Draft:
    """A Coverage with team ids where it will hold Teams."""

    reason: Reason
    people: int = 0
    unit_people: int = 0
    counted_with: int | None = None
    joined: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    entered: int | None = None
    shown_below: int = 0

    def mentioned(self) -> list[int]:
        ids = [self.counted_with, self.entered, *self.joined, *self.missing[:MISSING_NAMED]]
        return [team for team in ids if team is not None]

    def coverage(self, round_: Round, teams: dict[int, Team], team: int) -> Coverage:
        return Coverage(
            team=teams[team],
            round=round_,
            reason=self.reason,
            people=self.people,
            unit_people=self.unit_people,
            counted_with=teams.get(self.counted_with) if self.counted_with else None,
            joined=tuple(teams[t] for t in self.joined),
            missing=tuple(teams[t] for t in self.missing[:MISSING_NAMED]),
            missing_more=max(0, len(self.missing) - MISSING_NAMED),
            entered=teams.get(self.entered) if self.entered else None,
            shown_below=self.shown_below,
        )


def _draft(round_: Round, tree: _Tree, results: dict[int, tuple[set[int], bool]], team: int) -> _Draft:
    if team not in tree.parent:
        return _Draft(Reason.NOT_IN_ROUND)
    unit = tree.unit.get(team)
    members = tree.members.get(unit, []) if unit is not None else []
    draft = _Draft(
        Reason.SHOWN,
        people=tree.invited[team],
        unit_people=sum(tree.invited[t] for t in members),
        counted_with=unit if unit not in (None, team) else None,
        joined=[t for t in tree.members.get(team, []) if t != team],
    )
    if team in results:
        covered, partial = results[team]
        inside = {team, *tree.below(team)}
        draft.missing = sorted(t for t in inside if tree.invited.get(t) and t not in covered) if partial else []
        return draft
    draft.entered = next((up for up in tree.above(team) if up in results and team in results[up][0]), None)
    draft.shown_below = sum(1 for t in tree.below(team) if t in results)
    if round_.publication_rule != PublicationRule.UNITS:
        draft.reason = Reason.HIDDEN
    elif not tree.invited[team]:
        draft.reason = Reason.NOBODY
    elif draft.counted_with is not None:
        draft.reason = Reason.COUNTED_WITH
    else:
        draft.reason = Reason.TOO_FEW
    return draft
