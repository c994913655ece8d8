"""The audit log as HR reads it (docs/operations.md, "Audit log"): newest first, across the
event tables of `models/audit.py`, each entry saying who (from the event's context), when,
what kind of thing, which one, and for a change the columns that changed, before and after.

The entries are read page by page with a cursor (time, table, id), two queries per table and a
few to name what the events point at, whatever the log's size.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, OuterRef, Q, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from surveys.core.words import Words
from surveys.models import (
    AUDITED,
    CHANGED,
    EXPORTED,
    ActionPlan,
    ApiKey,
    IdentityProvider,
    Membership,
    Organization,
    RosterImport,
    Round,
    ScimHeldDeactivation,
    ScimToken,
    Survey,
    SurveyQuestion,
    Team,
    TeamManagement,
    User,
)

#: What each audited table is called on the page, and in the API's `kind`.
KINDS: dict[type[Model], tuple[str, Words]] = {
    Organization: ("settings", gettext_lazy("Settings and exports")),
    Membership: ("person", gettext_lazy("Person")),
    Team: ("team", gettext_lazy("Team")),
    TeamManagement: ("team_lead", gettext_lazy("Team lead")),
    Survey: ("survey", gettext_lazy("Survey")),
    SurveyQuestion: ("survey_question", gettext_lazy("Survey question")),
    Round: ("round", gettext_lazy("Round")),
    ApiKey: ("api_key", gettext_lazy("API key")),
    ActionPlan: ("action_plan", gettext_lazy("Action plan")),
    RosterImport: ("roster_import", gettext_lazy("Roster import")),
    IdentityProvider: ("sign_in", gettext_lazy("Single sign-on")),
    ScimToken: ("scim_token", gettext_lazy("SCIM token")),
    ScimHeldDeactivation: ("scim_held_deactivation", gettext_lazy("Deactivation held from SCIM")),
}
KIND_CHOICES = tuple(KINDS.values())
PAGE_SIZE = 50
#: Columns that point at a team or at a person, shown by their path or address.
_TEAM_COLUMNS = frozenset({"team_id", "parent_id", "root_team_id"})
_PERSON_COLUMNS = frozenset(
    {"membership_id", "owner_id", "created_by_id", "uploaded_by_id", "confirmed_by_id", "resolved_by_id"}
)
GONE = gettext_lazy("(no longer in Pulse)")


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    action: str  # created, changed, deleted, exported
    kind: str
    kind_label: Words
    subject: str
    actor: str  # who, in words: an address, an API key, or Pulse itself
    via: str  # web, api, admin, or "" (a scheduled job, a command)
    changes: tuple[Change, ...] = ()
    cursor: str = field(default="", repr=False)


@dataclass(frozen=True)
class AuditPage:
    entries: tuple[AuditEntry, ...]
    next_cursor: str | None


def _cursor(at: dt.datetime, table: str, event_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([at.isoformat(), table, event_id]).encode()).decode()


def cursor_parse(cursor: str) -> tuple[dt.datetime, str, int] | None:
    """The position a cursor names, or None for one that is not ours (it is ignored)."""
    try:
        at, table, event_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return dt.datetime.fromisoformat(at), str(table), int(event_id)
    except (ValueError, TypeError):
        return None


def _after(table: str, position: tuple[dt.datetime, str, int] | None) -> Q:
    """Events of `table` that come after `position` in the log's order (time, table, id; newest first)."""
    if position is None:
        return Q()
    at, cursor_table, event_id = position
    if table < cursor_table:
        return Q(pgh_created_at__lte=at)
    if table == cursor_table:
        return Q(pgh_created_at__lt=at) | Q(pgh_created_at=at, pgh_id__lt=event_id)
    return Q(pgh_created_at__lt=at)


def audit_log(*, cursor: str = "", kinds: Sequence[str] = (), limit: int = PAGE_SIZE) -> AuditPage:
    """A page of the organisation's audit log, newest first."""
    position = cursor_parse(cursor) if cursor else None
    picked: list[tuple[tuple[dt.datetime, str, int], type[Model], Any]] = []
    for tracked, event_model in AUDITED.items():
        if kinds and KINDS[tracked][0] not in kinds:
            continue
        table = event_model._meta.db_table
        previous = event_model.objects.filter(pgh_obj_id=OuterRef("pgh_obj_id"), pgh_id__lt=OuterRef("pgh_id"))
        events = (
            event_model.objects.filter(_after(table, position))
            .annotate(previous_id=Subquery(previous.order_by("-pgh_id").values("pgh_id")[:1]))
            .order_by("-pgh_created_at", "-pgh_id")[: limit + 1]
        )
        picked += [((event.pgh_created_at, table, event.pgh_id), tracked, event) for event in events]
    picked.sort(key=lambda row: row[0], reverse=True)
    more = len(picked) > limit
    picked = picked[:limit]
    entries = _entries([(tracked, event) for _, tracked, event in picked])
    next_cursor = _cursor(*picked[-1][0]) if more and picked else None
    return AuditPage(tuple(entries), next_cursor)


def _previous_events(events: Iterable[tuple[type[Model], Any]]) -> dict[tuple[type[Model], int], Any]:
    wanted: dict[type[Model], set[int]] = {}
    for tracked, event in events:
        if event.pgh_label == CHANGED and event.previous_id:
            wanted.setdefault(tracked, set()).add(event.previous_id)
    found = {}
    for tracked, ids in wanted.items():
        for event in AUDITED[tracked].objects.filter(pgh_id__in=ids):
            found[tracked, event.pgh_id] = event
    return found


def _audited_columns(event: Any) -> list[str]:
    return [f.attname for f in type(event)._meta.concrete_fields if not f.name.startswith("pgh_")]


class _Names:
    """What events point at, named in a few queries: teams by path, people by address."""

    def __init__(self, events: Sequence[tuple[type[Model], Any]]) -> None:
        team_ids: set[int] = set()
        person_ids: set[int] = set()
        user_ids: set[int] = set()
        survey_ids: set[int] = set()
        for _unused, event in events:
            for column in _audited_columns(event):
                value = getattr(event, column)
                if value is None:
                    continue
                team_ids |= {value} if column in _TEAM_COLUMNS else set()
                person_ids |= {value} if column in _PERSON_COLUMNS else set()
                user_ids |= {value} if column == "user_id" else set()
                survey_ids |= {value} if column == "survey_id" else set()
        self.teams = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "path"))
        people = Membership.objects.filter(pk__in=person_ids).values_list("pk", "user_id")
        self.people = dict(people)
        user_ids |= set(self.people.values())
        self.users = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "email"))
        self.surveys = dict(Survey.objects.filter(pk__in=survey_ids).values_list("pk", "name"))

    def person(self, membership_id: int | None) -> str:
        return self.users.get(self.people.get(membership_id or 0, 0), str(GONE))

    def value(self, column: str, value: Any) -> str:
        if value is None or value == "":
            return "—"
        if column in _TEAM_COLUMNS:
            return self.teams.get(value, str(GONE))
        if column in _PERSON_COLUMNS:
            return self.person(value)
        if column == "user_id":
            return self.users.get(value, str(GONE))
        if column == "survey_id":
            return self.surveys.get(value, str(GONE))
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        return str(value)

    def subject(self, tracked: type[Model], event: Any) -> str:
        if tracked is Organization:
            return event.name
        if tracked is Membership:
            return self.users.get(event.user_id, str(GONE))
        if tracked is TeamManagement:
            return _("%(person)s leads %(team)s") % {
                "person": self.person(event.membership_id),
                "team": self.teams.get(event.team_id, str(GONE)),
            }
        if tracked is SurveyQuestion:
            return _("%(survey)s: question %(question)s") % {
                "survey": self.surveys.get(event.survey_id, str(GONE)),
                "question": event.question_id,
            }
        if tracked is Round:
            return f"{self.surveys.get(event.survey_id, str(GONE))} #{event.number}"
        if tracked is ApiKey:
            return f"{event.name} ({event.prefix}…)"
        if tracked is ScimToken:
            return f"{event.name} ({event.prefix}…)"
        if tracked is ScimHeldDeactivation:
            return self.person(event.membership_id)
        if tracked is ActionPlan:
            return event.title
        if tracked is RosterImport:
            return event.filename
        if tracked is Team:
            return event.path
        if tracked is IdentityProvider:
            return event.label or event.get_protocol_display()
        return event.name


def _actor(context: dict[str, Any] | None) -> tuple[str, str]:
    context = context or {}
    via = str(context.get("via", ""))
    if context.get("api_key"):
        return _("API key “%(name)s” (%(prefix)s…)") % {
            "name": context.get("api_key_name", ""),
            "prefix": context["api_key"],
        }, via
    if context.get("scim_token"):
        return _("SCIM token “%(name)s” (%(prefix)s…)") % {
            "name": context.get("scim_token_name", ""),
            "prefix": context["scim_token"],
        }, via
    if context.get("actor_email"):
        return str(context["actor_email"]), via
    return (_("Pulse (a scheduled job or an operator's command)") if not via else _("someone not signed in")), via


def _label(column: str, tracked: type[Model]) -> str:
    name = column.removesuffix("_id")
    try:
        return str(getattr(tracked._meta.get_field(name), "verbose_name", name))
    except Exception:
        return name.replace("_", " ")


def _entries(events: Sequence[tuple[type[Model], Any]]) -> list[AuditEntry]:
    names = _Names(events)
    previous = _previous_events(events)
    entries = []
    for tracked, event in events:
        kind, kind_label = KINDS[tracked]
        actor, via = _actor(event.pgh_context)
        changes: tuple[Change, ...] = ()
        if event.pgh_label == CHANGED and (tracked, event.previous_id) in previous:
            before = previous[tracked, event.previous_id]
            changes = tuple(
                Change(
                    _label(column, tracked), names.value(column, getattr(before, column)), names.value(column, value)
                )
                for column in _audited_columns(event)
                if (value := getattr(event, column)) != getattr(before, column)
            )
        subject = names.subject(tracked, event)
        if event.pgh_label == EXPORTED:
            kind, kind_label = "export", "Export"
            subject = str((event.pgh_context or {}).get("export", "")).replace("_", " ")
        entries.append(
            AuditEntry(
                at=event.pgh_created_at,
                action=event.pgh_label,
                kind=kind,
                kind_label=kind_label,
                subject=subject,
                actor=actor,
                via=via,
                changes=changes,
                cursor=_cursor(event.pgh_created_at, event._meta.db_table, event.pgh_id),
            )
        )
    return entries


def audit_entries_of_person(*, membership: Membership) -> list[dict[str, Any]]:
    """The log's entries about a person, for their data export: what they did, and what was
    done to their place in the roster (their membership's events)."""
    acted_on: list[tuple[type[Model], Any]] = []
    for tracked, event_model in AUDITED.items():
        mine = Q(pgh_context__actor=membership.pk)
        if tracked is Membership:
            mine |= Q(pgh_obj_id=membership.pk)
        acted_on += [
            (tracked, event)
            for event in event_model.objects.filter(mine).annotate(
                previous_id=Subquery(
                    event_model.objects.filter(pgh_obj_id=OuterRef("pgh_obj_id"), pgh_id__lt=OuterRef("pgh_id"))
                    .order_by("-pgh_id")
                    .values("pgh_id")[:1]
                )
            )
        ]
    acted_on.sort(key=lambda row: (row[1].pgh_created_at, row[1].pgh_id))
    return [
        {
            "at": entry.at.isoformat(),
            "action": entry.action,
            "kind": entry.kind,
            "subject": entry.subject,
            "by": entry.actor,
            "changes": [{"field": c.field, "before": c.before, "after": c.after} for c in entry.changes],
        }
        for entry in _entries(acted_on)
    ]
