"""Previews of roster changes that grant or remove access: what a merge, a move, a role or lead
change, a deactivation or an undo would do, said before it is done.

A preview runs the very service that would make the change, inside a transaction it then rolls
back, and compares who may read which team's results before and after
(`access.results_readers`, the rule of `access.visible_teams`). So the preview cannot drift from
what the change does: there is no second description of a merge to keep in step. Nothing it
queued (e-mails) is sent: work queued by a transaction that rolls back never leaves it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.db import transaction
from django.db.models import Max

from surveys.access import results_readers
from surveys.core.words import Words
from surveys.models import Membership, Role, RosterChange, Team


@dataclass(frozen=True)
class TeamsSeen:
    """A set of teams as a preview names it: each top team of the set with how many of the
    teams below it the set holds; `every` when it is every team of the organisation."""

    every: bool
    tops: tuple[tuple[str, int], ...]
    count: int


@dataclass(frozen=True)
class PersonAccess:
    """What a change does to one person's access: their role, whether they may sign in, and the
    teams whose results they would start or stop seeing."""

    name: str
    email: str
    role_before: Words | None  # the role's label; None when they are not in the organisation
    role_after: Words | None
    active_before: bool
    active_after: bool
    gains: TeamsSeen | None
    loses: TeamsSeen | None

    @property
    def role_changes(self) -> bool:
        return self.role_before != self.role_after and None not in (self.role_before, self.role_after)


@dataclass(frozen=True)
class AccessPreview:
    recorded: tuple[str, ...]  # what the roster history would record
    people: tuple[PersonAccess, ...]  # everyone whose access changes, by name

    @property
    def changes_access(self) -> bool:
        return bool(self.people)

    @property
    def fingerprint(self) -> str:
        """Identical for two previews that say the same: a confirmation carries the one HR read."""
        canonical = json.dumps([self.recorded, [asdict(person) for person in self.people]], sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class _Snapshot:
    readers: dict[int, frozenset[int]]  # membership -> teams whose results they may see
    members: dict[int, tuple[str, bool]]  # membership -> (role, active)
    paths: dict[int, str]  # team -> path

    @classmethod
    def take(cls) -> _Snapshot:
        return cls(
            readers=results_readers(),
            members={
                pk: (role, active) for pk, role, active in Membership.objects.values_list("pk", "role", "is_active")
            },
            paths=dict(Team.objects.values_list("id", "path")),
        )


def access_change_preview(change: Callable[[], object]) -> AccessPreview:
    """What `change()` (a call of a roster service) would do, without doing it. A PulseError it
    raises comes through unchanged: the change would be refused."""
    before = _Snapshot.take()
    with transaction.atomic():
        last = RosterChange.objects.aggregate(last=Max("pk"))["last"] or 0
        change()
        after = _Snapshot.take()
        recorded = tuple(RosterChange.objects.filter(pk__gt=last).order_by("pk").values_list("summary", flat=True))
        affected = _affected(before, after)
        names = _names(set(affected) & after.members.keys())
        transaction.set_rollback(True)
    names.update(_names(set(affected) - names.keys()))
    people = [_person(pk, names[pk], before, after) for pk in affected if pk in names]
    return AccessPreview(recorded=recorded, people=tuple(sorted(people, key=lambda p: (p.name.casefold(), p.email))))


def _affected(before: _Snapshot, after: _Snapshot) -> list[int]:
    ids = before.members.keys() | after.members.keys()
    return sorted(
        pk
        for pk in ids
        if before.members.get(pk) != after.members.get(pk) or before.readers.get(pk) != after.readers.get(pk)
    )


def _names(ids: set[int]) -> dict[int, tuple[str, str]]:
    people = Membership.objects.filter(pk__in=ids).values_list("pk", "user__name", "user__email")
    return {pk: (name or email, email) for pk, name, email in people}


def _person(pk: int, name: tuple[str, str], before: _Snapshot, after: _Snapshot) -> PersonAccess:
    seen_before = before.readers.get(pk, frozenset())
    seen_after = after.readers.get(pk, frozenset())
    role_before, active_before = before.members.get(pk, (None, False))
    role_after, active_after = after.members.get(pk, (None, False))
    return PersonAccess(
        name=name[0],
        email=name[1],
        role_before=Role(role_before).label if role_before else None,
        role_after=Role(role_after).label if role_after else None,
        active_before=active_before,
        active_after=active_after,
        gains=_teams_seen(seen_after - seen_before, after.paths),
        loses=_teams_seen(seen_before - seen_after, before.paths),
    )


def _teams_seen(ids: frozenset[int], paths: dict[int, str]) -> TeamsSeen | None:
    if not ids:
        return None
    chosen = sorted(paths[team_id] for team_id in ids if team_id in paths)
    inside = set(chosen)
    tops = [path for path in chosen if not any(p in inside for p in Team.path_prefixes(path)[:-1])]
    below = {top: sum(1 for path in chosen if path != top and Team.path_within(path, top)) for top in tops}
    return TeamsSeen(every=ids == set(paths), tops=tuple((top, below[top]) for top in tops), count=len(chosen))
