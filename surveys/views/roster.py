"""HR pages for the roster: people and teams, one person or team at a time, the import (upload,
preview, confirmation, progress, report), the export, and the history with undo."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from surveys.access import access_person, access_roster_change, access_roster_import, access_team, role_required
from surveys.core.exceptions import PulseError
from surveys.forms.roster import (
    PeopleSearchForm,
    PersonForm,
    RosterConfirmForm,
    RosterUploadForm,
    TeamForm,
    TeamMergeForm,
)
from surveys.models import HR_ROLES
from surveys.selectors.roster import (
    ERRORS_PER_PAGE,
    PEOPLE_PER_PAGE,
    roster_active_count,
    roster_example_csv,
    roster_export_csv,
    roster_history,
    roster_import_errors_csv,
    roster_imports_recent,
    roster_people,
    roster_team_tree,
)
from surveys.services import people as people_services
from surveys.services import teams as team_services
from surveys.services.roster import (
    roster_import_cancel,
    roster_import_confirm,
    roster_import_start,
    roster_import_undo,
)
from surveys.services.roster_file import MAX_ROWS


@require_GET
@role_required(*HR_ROLES)
def people(request, org_slug: str):
    form = PeopleSearchForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    people = roster_people(
        organization=request.organization, search=filters.get("q", "").strip(), status=filters.get("status", "")
    )
    context = {
        "form": form,
        "filtered": bool(filters.get("q") or filters.get("status")),
        "page": Paginator(people, PEOPLE_PER_PAGE).get_page(request.GET.get("page")),
        "tree": roster_team_tree(organization=request.organization),
        "active_count": roster_active_count(organization=request.organization),
    }
    return render(request, "surveys/roster/people.html", context)


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
            messages.success(request, f"{person.user.get_full_name()} is in {person.team.path}.")
            return redirect("roster_person", org_slug=org_slug, person_id=person.pk)
    return render(request, "surveys/roster/person_form.html", {"form": form, "person": None})


@role_required(*HR_ROLES)
def person_edit(request, org_slug: str, person_id: int):
    person = access_person(membership=request.membership, person_id=person_id)
    initial = {
        "name": person.user.name,
        "team": person.team_id,
        "role": person.role,
        "leads": list(person.management.values_list("team_id", flat=True)),
    }
    form = PersonForm(request.POST or None, adding=False, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            person = people_services.person_update(
                membership=person, actor=request.membership, fields=form.person_fields()
            )
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            messages.success(request, f"Saved {person.user.get_full_name()}.")
            return redirect("roster_person", org_slug=org_slug, person_id=person.pk)
    return render(request, "surveys/roster/person_form.html", {"form": form, "person": person})


@role_required(*HR_ROLES)
def person_active(request, org_slug: str, person_id: int):
    """Deactivate or reactivate (the form says which)."""
    person = access_person(membership=request.membership, person_id=person_id)
    if request.method != "POST":
        return redirect("roster_person", org_slug=org_slug, person_id=person.pk)
    activate = request.POST.get("active") == "1"
    change = people_services.person_reactivate if activate else people_services.person_deactivate
    try:
        person = change(membership=person, actor=request.membership)
    except PulseError as error:
        messages.error(request, error.message)
    else:
        state = "active again" if activate else "deactivated: no more pulses, no pages"
        messages.success(request, f"{person.user.get_full_name()} is {state}.")
    return redirect("roster_person", org_slug=org_slug, person_id=person.pk)


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
        messages.success(request, f"A new link to set up their account is on its way to {person.user.email}.")
    return redirect("roster_person", org_slug=org_slug, person_id=person.pk)


@role_required(*HR_ROLES)
def team_edit(request, org_slug: str, team_id: int):
    team = access_team(membership=request.membership, team_id=team_id)
    form = TeamForm(request.POST or None, team=team, initial={"name": team.name, "parent": team.parent_id})
    merge = TeamMergeForm(team=team)
    if request.method == "POST" and form.is_valid():
        try:
            team = team_services.team_move(team=team, parent=form.cleaned_data["parent"], actor=request.membership)
            team = team_services.team_rename(team=team, name=form.cleaned_data["name"], actor=request.membership)
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            messages.success(request, f"Saved: the team is now {team.path}. Rounds already open keep their tree.")
            return redirect("roster_people", org_slug=org_slug)
    return render(request, "surveys/roster/team_form.html", {"form": form, "merge": merge, "team": team})


@role_required(*HR_ROLES)
def team_merge(request, org_slug: str, team_id: int):
    team = access_team(membership=request.membership, team_id=team_id)
    if request.method != "POST":
        return redirect("roster_team", org_slug=org_slug, team_id=team.pk)
    merge = TeamMergeForm(request.POST, team=team)
    if merge.is_valid():
        try:
            into = team_services.team_merge(team=team, into=merge.cleaned_data["into"], actor=request.membership)
        except PulseError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{team.path} is merged into {into.path}.")
            return redirect("roster_people", org_slug=org_slug)
    else:
        messages.error(request, "Choose the team to merge into.")
    return redirect("roster_team", org_slug=org_slug, team_id=team.pk)


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
        messages.info(request, "Import cancelled: nothing was changed, and the file is deleted.")
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
    return _csv_download(roster_example_csv(organization=request.organization), "pulse-roster-example.csv")


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
    change = access_roster_change(membership=request.membership, change_id=change_id)
    if request.method != "POST":
        return redirect("roster_history", org_slug=org_slug)
    try:
        roster_import_undo(change=change, actor=request.membership)
    except PulseError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The import is undone: the roster is as it was before it.")
    return redirect("roster_history", org_slug=org_slug)
