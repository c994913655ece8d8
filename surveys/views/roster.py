"""HR pages for the roster: people and teams, one person or team at a time, the import (upload,
preview, confirmation, progress, report), the export, and the history with undo.

A change that grants or removes access (a role or lead change, a deactivation, a move, a merge,
an undo) is shown first, naming everyone whose access it changes
(`services.access_changes.access_change_preview`), and made only when HR confirms that very
preview: the confirmation carries its fingerprint, and a roster that changed meanwhile shows the
new preview instead."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext
from django.views.decorators.http import require_GET

from surveys.access import (
    access_person,
    access_roster_change,
    access_roster_import,
    access_scim_held,
    access_team,
    role_required,
)
from surveys.core.exceptions import PulseError
from surveys.forms.roster import (
    PeopleSearchForm,
    PersonForm,
    RosterConfirmForm,
    RosterUploadForm,
    TeamForm,
    TeamMergeForm,
)
from surveys.models import HR_ROLES, Team
from surveys.selectors.provisioning import scim_held_deactivations
from surveys.selectors.roster import (
    ERRORS_PER_PAGE,
    PEOPLE_PER_PAGE,
    roster_active_count,
    roster_example_csv,
    roster_example_is_export,
    roster_export_csv,
    roster_history,
    roster_import_errors_csv,
    roster_imports_recent,
    roster_path_examples,
    roster_people,
    roster_team_tree,
    team_leads,
)
from surveys.services import people as people_services
from surveys.services import teams as team_services
from surveys.services.access_changes import AccessPreview, access_change_preview
from surveys.services.roster import (
    provisioning,
    roster_change_undo,
    roster_import_cancel,
    roster_import_confirm,
    roster_import_start,
)
from surveys.services.roster_file import MAX_ROWS

#: The field a confirmation sends back: the fingerprint of the preview HR read.
CONFIRM = "confirm"
UNDO_NOTE = gettext_lazy("If it was a mistake, undo it from the roster history.")


def _confirmation(request, preview: AccessPreview) -> str:
    """ "confirmed" when the POST confirms exactly this preview, "stale" when it confirmed another
    one (the roster changed since it was shown), else "" (not confirmed yet)."""
    sent = request.POST.get(CONFIRM, "")
    if not sent:
        return ""
    return "confirmed" if sent == preview.fingerprint else "stale"


def _confirm_page(request, *, title: str, lead: str, preview: AccessPreview, action: str, button: str, **extra):
    context = {
        "title": title,
        "lead": lead,
        "preview": preview,
        "action": action,
        "button": button,
        "stale": _confirmation(request, preview) == "stale",
        **extra,
    }
    return render(request, "surveys/roster/change_confirm.html", context)


@require_GET
@role_required(*HR_ROLES)
def people(request, org_slug: str):
    form = PeopleSearchForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    people = roster_people(
        organization=request.organization, search=filters.get("q", "").strip(), status=filters.get("status", "")
    )
    active_count = roster_active_count(organization=request.organization)
    context = {
        "form": form,
        "filtered": bool(filters.get("q") or filters.get("status")),
        "page": Paginator(people, PEOPLE_PER_PAGE).get_page(request.GET.get("page")),
        "tree": roster_team_tree(organization=request.organization),
        "active_count": active_count,
        # The first-import help quotes the organisation's own tree (read only when it is shown).
        "examples": roster_path_examples(organization=request.organization) if active_count <= 1 else None,
        "held": list(scim_held_deactivations()),
    }
    return render(request, "surveys/roster/people.html", context)


@role_required(*HR_ROLES)
def scim_held_decide(request, org_slug: str, held_id: int):
    """HR decides a deactivation held from SCIM (POST; the People page lists them): `decision=
    apply` deactivates (recorded in the history, undoable), `decision=keep` keeps the person;
    `all=1` decides every one waiting."""
    first = access_scim_held(membership=request.membership, held_id=held_id)
    decision = request.POST.get("decision")
    if request.method != "POST" or decision not in ("apply", "keep"):
        if request.method == "POST":
            messages.error(request, _("Choose to deactivate or to keep."))
        return redirect("roster_people", org_slug=org_slug)
    waiting = list(scim_held_deactivations()) if request.POST.get("all") else [first]
    decide = provisioning.scim_held_confirm if decision == "apply" else provisioning.scim_held_dismiss
    done = 0
    for held in waiting:
        try:
            decide(held=held, actor=request.membership)
            done += 1
        except PulseError as error:
            messages.error(request, error.message)
    if done:
        message = (
            ngettext("Deactivated %(count)d person.", "Deactivated %(count)d people.", done)
            if decision == "apply"
            else ngettext("Kept %(count)d person active.", "Kept %(count)d people active.", done)
        )
        messages.success(request, message % {"count": done})
    return redirect("roster_people", org_slug=org_slug)


@role_required(*HR_ROLES)
def person_add(request, org_slug: str):
    form = PersonForm(request.POST or None, adding=True, initial={"role": "employee"})
    if request.method == "POST" and form.is_valid():
        try:
            person = people_services.person_create(
                organization=request.organization,
                actor=request.membership,
                email=form.cleaned_data["email"],
                fields=form.person_fields(),
            )
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            messages.success(
                request, _("%(name)s is in %(team)s.") % {"name": person.user.get_full_name(), "team": person.team.path}
            )
            return redirect("roster_person", org_slug=org_slug, person_id=person.pk)
    return render(request, "surveys/roster/person_form.html", {"form": form, "person": None})


@role_required(*HR_ROLES)
def person_edit(request, org_slug: str, person_id: int):
    """The person's form. A change of access (role, leads, a team that changes what they see)
    is previewed and confirmed; any other change is saved at once."""
    person = access_person(membership=request.membership, person_id=person_id)
    initial = {
        "name": person.user.name,
        "team": person.team_id,
        "role": person.role,
        "leads": list(person.management.values_list("team_id", flat=True)),
    }
    form = PersonForm(request.POST or None, adding=False, initial=initial)
    if request.method == "POST" and "revise" not in request.POST and form.is_valid():

        def change():
            return people_services.person_update(
                membership=person, actor=request.membership, fields=form.person_fields()
            )

        try:
            preview = access_change_preview(change)
            if preview.changes_access and _confirmation(request, preview) != "confirmed":
                return _confirm_page(
                    request,
                    title=_("Save %(name)s?") % {"name": person.user.get_full_name()},
                    lead=_("This changes who may read which team's results. Check it, then save or go back."),
                    preview=preview,
                    action=request.path,
                    button=_("Save these changes"),
                    form=form,
                    revisable=True,
                    back=reverse("roster_person", args=[org_slug, person.pk]),
                )
            person = change()
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            messages.success(request, _("Saved %(name)s.") % {"name": person.user.get_full_name()} + f" {UNDO_NOTE}")
            return redirect("roster_person", org_slug=org_slug, person_id=person.pk)
    return render(request, "surveys/roster/person_form.html", {"form": form, "person": person})


@role_required(*HR_ROLES)
def person_active(request, org_slug: str, person_id: int):
    """Deactivate or reactivate: GET previews what it does, POST (confirming that preview) does it."""
    person = access_person(membership=request.membership, person_id=person_id)
    activate = not person.is_active
    service = people_services.person_reactivate if activate else people_services.person_deactivate

    def change():
        return service(membership=person, actor=request.membership)

    name = person.user.get_full_name()
    try:
        preview = access_change_preview(change)
        if request.method == "POST" and _confirmation(request, preview) == "confirmed":
            change()
            done = (
                _("%(name)s is active again.") if activate else _("%(name)s is deactivated: no more pulses, no pages.")
            )
            messages.success(request, done % {"name": name} + f" {UNDO_NOTE}")
            return redirect("roster_person", org_slug=org_slug, person_id=person.pk)
    except PulseError as error:
        messages.error(request, error.message)
        return redirect("roster_person", org_slug=org_slug, person_id=person.pk)
    lead = (
        _("%(name)s would be invited to the next pulses of their team again, and sign in if their role has pages.")
        if activate
        else _(
            "%(name)s would get no more pulses and lose their pages. Nothing they answered is removed: "
            "past results keep counting them."
        )
    ) % {"name": name}
    return _confirm_page(
        request,
        title=(_("Reactivate %(name)s?") if activate else _("Deactivate %(name)s?")) % {"name": name},
        lead=lead,
        preview=preview,
        action=request.path,
        button=(_("Reactivate %(name)s") if activate else _("Deactivate %(name)s"))
        % {"name": person.user.get_short_name()},
        danger=not activate,
        back=reverse("roster_person", args=[org_slug, person.pk]),
    )


@role_required(*HR_ROLES)
def person_account(request, org_slug: str, person_id: int):
    """Send the account set-up link again."""
    person = access_person(membership=request.membership, person_id=person_id)
    if request.method != "POST":
        return redirect("roster_person", org_slug=org_slug, person_id=person.pk)
    try:
        people_services.account_invitation_resend(membership=person)
    except PulseError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("A new link to set up their account is on its way to %(email)s.") % {"email": person.user.email}
        )
    return redirect("roster_person", org_slug=org_slug, person_id=person.pk)


@role_required(*HR_ROLES)
def team_edit(request, org_slug: str, team_id: int):
    """Rename or move a team: a move is previewed and confirmed (it changes who sees the team and
    where its results count); a rename alone is saved at once."""
    team = access_team(membership=request.membership, team_id=team_id)
    form = TeamForm(request.POST or None, team=team, initial={"name": team.name, "parent": team.parent_id})
    if request.method == "POST" and "revise" not in request.POST and form.is_valid():
        parent, name = form.cleaned_data["parent"], form.cleaned_data["name"]

        def change() -> Team:
            moved = team_services.team_move(team=team, parent=parent, actor=request.membership)
            return team_services.team_rename(team=moved, name=name, actor=request.membership)

        try:
            preview = access_change_preview(change)
            moves = parent != team.parent
            if (moves or preview.changes_access) and _confirmation(request, preview) != "confirmed":
                return _confirm_page(
                    request,
                    title=_("Move %(team)s?") % {"team": team.path},
                    lead=_(
                        "Moving a team moves every team below it too. Rounds already open or published keep "
                        "the tree they had when they opened; the next rounds count it in its new place."
                    ),
                    preview=preview,
                    action=request.path,
                    button=_("Move the team"),
                    form=form,
                    revisable=True,
                    back=reverse("roster_team", args=[org_slug, team.pk]),
                )
            team = change()
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            messages.success(
                request,
                _("Saved: the team is now %(team)s. Rounds already open keep their tree.") % {"team": team.path}
                + f" {UNDO_NOTE}",
            )
            return redirect("roster_people", org_slug=org_slug)
    merge = TeamMergeForm(team=team)
    context = {"form": form, "merge": merge, "team": team, "leads": team_leads(team=team)}
    return render(request, "surveys/roster/team_form.html", context)


@role_required(*HR_ROLES)
def team_merge(request, org_slug: str, team_id: int):
    """Merge: the form on the team's page posts here, which previews; confirming merges."""
    team = access_team(membership=request.membership, team_id=team_id)
    if request.method != "POST":
        return redirect("roster_team", org_slug=org_slug, team_id=team.pk)
    merge = TeamMergeForm(request.POST, team=team)
    if not merge.is_valid():
        messages.error(request, _("Choose the team to merge into."))
        return redirect("roster_team", org_slug=org_slug, team_id=team.pk)
    into, follow = merge.cleaned_data["into"], merge.cleaned_data["leads_follow"]

    def change() -> Team:
        return team_services.team_merge(team=team, into=into, actor=request.membership, leads_follow=follow)

    try:
        preview = access_change_preview(change)
        if _confirmation(request, preview) != "confirmed":
            return _confirm_page(
                request,
                title=_("Merge %(team)s into %(into)s?") % {"team": team.path, "into": into.path},
                lead=_(
                    "Everyone in %(team)s and the teams below it move to %(into)s. %(team)s stays in the "
                    "tree, empty, because past rounds refer to it; its leads keep seeing its past results."
                )
                % {"team": team.name, "into": into.path},
                preview=preview,
                action=request.path,
                button=_("Merge %(team)s") % {"team": team.name},
                danger=True,
                form=merge,
                back=reverse("roster_team", args=[org_slug, team.pk]),
            )
        change()
    except PulseError as error:
        messages.error(request, error.message)
        return redirect("roster_team", org_slug=org_slug, team_id=team.pk)
    messages.success(
        request, _("%(team)s is merged into %(into)s.") % {"team": team.path, "into": into.path} + f" {UNDO_NOTE}"
    )
    return redirect("roster_people", org_slug=org_slug)


@role_required(*HR_ROLES)
def roster_import(request, org_slug: str):
    form = RosterUploadForm(request.POST, request.FILES) if request.method == "POST" else RosterUploadForm()
    if form.is_bound and form.is_valid():
        upload = form.cleaned_data["file"]
        started = roster_import_start(
            organization=request.organization,
            uploaded_by=request.membership,
            filename=upload.name,
            content=upload.read(),
            mode=form.cleaned_data["mode"],
        )
        return redirect("roster_import_detail", org_slug=org_slug, import_id=started.pk)
    context = {
        "form": form,
        "imports": roster_imports_recent(organization=request.organization),
        "max_rows": MAX_ROWS,
        "examples": roster_path_examples(organization=request.organization),
        "example_is_export": roster_example_is_export(organization=request.organization),
    }
    return render(request, "surveys/roster/import.html", context)


#: The lists of a preview, in the order HR reads them: (key, title, columns).
PREVIEW_LISTS = (
    ("people_deactivated", "People deactivated", ("Email", "Name", "Team")),
    ("people_moved", "People moved", ("Email", "Name", "From", "To")),
    ("people_added", "People added", ("Email", "Name", "Team", "Role")),
    ("people_updated", "Names and roles changed", ("Email", "Name", "Change")),
    ("people_reactivated", "People back", ("Email", "Name", "Team")),
    ("teams_created", "Teams created", ("Team",)),
    ("teams_renamed", "Teams renamed", ("From", "To")),
    ("teams_emptied", "Teams left without people", ("Team",)),
    ("leads_added", "Team leads added", ("Team", "Lead")),
    ("leads_removed", "Team leads removed", ("Team", "Lead")),
)


def _preview_lists(plan: dict) -> list[dict]:
    return [
        {"title": title, "columns": columns, "entries": plan["lists"][key], "count": plan["counts"][key]}
        for key, title, columns in PREVIEW_LISTS
        if plan.get("lists", {}).get(key)
    ]


@role_required(*HR_ROLES)
def roster_import_detail(request, org_slug: str, import_id: int):
    """Progress, the preview to confirm (a POST here confirms), or the report."""
    roster_import = access_roster_import(membership=request.membership, import_id=import_id)
    confirm = RosterConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and confirm.is_valid():
        try:
            roster_import = roster_import_confirm(
                roster_import=roster_import,
                confirmed_by=request.membership,
                large_deactivation_ok=confirm.cleaned_data["large_deactivation_ok"],
            )
        except PulseError as error:
            confirm.add_error("large_deactivation_ok" if error.code == "large_deactivation_ok" else None, error.message)
        else:
            return redirect("roster_import_detail", org_slug=org_slug, import_id=roster_import.pk)
    context = {
        "roster_import": roster_import,
        "running": roster_import.is_running,
        "confirm": confirm,
        "preview_lists": _preview_lists(roster_import.plan) if roster_import.plan else [],
        "errors_page": Paginator(roster_import.errors, ERRORS_PER_PAGE).get_page(request.GET.get("page")),
    }
    return render(request, "surveys/roster/import_detail.html", context)


@role_required(*HR_ROLES)
def roster_import_cancel_view(request, org_slug: str, import_id: int):
    roster_import = access_roster_import(membership=request.membership, import_id=import_id)
    if request.method != "POST":
        return redirect("roster_import_detail", org_slug=org_slug, import_id=roster_import.pk)
    try:
        roster_import_cancel(roster_import=roster_import)
    except PulseError as error:
        messages.error(request, error.message)
    else:
        messages.info(request, _("Import cancelled: nothing was changed, and the file is deleted."))
    return redirect("roster_import", org_slug=org_slug)


@require_GET
@role_required(*HR_ROLES)
def roster_import_status(request, org_slug: str, import_id: int):
    """What the progress page polls."""
    roster_import = access_roster_import(membership=request.membership, import_id=import_id)
    return JsonResponse(
        {
            "status": roster_import.status,
            "label": roster_import.get_status_display(),
            "processed_rows": roster_import.processed_rows,
            "total_rows": roster_import.total_rows,
            "text": render_to_string(
                "surveys/roster/_progress_text.html", {"roster_import": roster_import}, request=request
            ),
            "finished": not roster_import.is_running,
        }
    )


def _csv_download(content: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@role_required(*HR_ROLES)
def roster_import_errors(request, org_slug: str, import_id: int):
    roster_import = access_roster_import(membership=request.membership, import_id=import_id)
    return _csv_download(
        roster_import_errors_csv(roster_import=roster_import), f"roster-problems-{roster_import.pk}.csv"
    )


@require_GET
@role_required(*HR_ROLES)
def roster_template(request, org_slug: str):
    exported = roster_example_is_export(organization=request.organization)
    filename = f"{org_slug}-roster.csv" if exported else "pulse-roster-example.csv"
    return _csv_download(roster_example_csv(organization=request.organization), filename)


@require_GET
@role_required(*HR_ROLES)
def roster_export(request, org_slug: str):
    return _csv_download(roster_export_csv(organization=request.organization), f"{org_slug}-roster.csv")


@require_GET
@role_required(*HR_ROLES)
def roster_history_page(request, org_slug: str):
    entries = roster_history(organization=request.organization)
    return render(request, "surveys/roster/history.html", {"entries": entries})


@role_required(*HR_ROLES)
def roster_undo(request, org_slug: str, change_id: int):
    """GET previews undoing one entry of the history (or says why it cannot be undone); POST,
    confirming that preview, undoes it."""
    change = access_roster_change(membership=request.membership, change_id=change_id)

    def undo():
        return roster_change_undo(change=change, actor=request.membership)

    try:
        preview = access_change_preview(undo)
        if request.method == "POST" and _confirmation(request, preview) == "confirmed":
            undo()
            messages.success(request, _("Undone: the roster is as it was before that change."))
            return redirect("roster_history", org_slug=org_slug)
    except PulseError as error:
        context = {"change": change, "refused": error.message}
        return render(request, "surveys/roster/undo_refused.html", context)
    return _confirm_page(
        request,
        title=_("Undo this change?"),
        lead=_("“%(summary)s” (%(when)s) would be put back.")
        % {
            "summary": change.summary,
            "when": date_format(timezone.localtime(change.created_at), pgettext("date format", "j M Y, H:i")),
        },
        preview=preview,
        action=request.path,
        button=_("Undo it"),
        back=reverse("roster_history", args=[org_slug]),
    )
