"""HR pages for the roster: people and teams, the import form, an import's progress and report."""

from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from surveys.access import access_roster_import, role_required
from surveys.forms.roster import PeopleSearchForm, RosterUploadForm
from surveys.models import HR_ROLES, RosterImportStatus
from surveys.selectors.roster import (
    ERRORS_PER_PAGE,
    PEOPLE_PER_PAGE,
    roster_active_count,
    roster_example_csv,
    roster_import_errors_csv,
    roster_imports_recent,
    roster_people,
    roster_team_tree,
)
from surveys.services.roster import MAX_ROWS, roster_import_start

RUNNING = (RosterImportStatus.PENDING, RosterImportStatus.VALIDATING, RosterImportStatus.IMPORTING)


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
def roster_import(request, org_slug: str):
    form = RosterUploadForm(request.POST, request.FILES) if request.method == "POST" else RosterUploadForm()
    if form.is_bound and form.is_valid():
        upload = form.cleaned_data["file"]
        started = roster_import_start(
            organization=request.organization,
            uploaded_by=request.membership,
            filename=upload.name,
            content=upload.read(),
        )
        return redirect("roster_import_detail", org_slug=org_slug, import_id=started.pk)
    context = {
        "form": form,
        "imports": roster_imports_recent(organization=request.organization),
        "max_rows": MAX_ROWS,
    }
    return render(request, "surveys/roster/import.html", context)


@require_GET
@role_required(*HR_ROLES)
def roster_import_detail(request, org_slug: str, import_id: int):
    roster_import = access_roster_import(membership=request.membership, import_id=import_id)
    context = {
        "roster_import": roster_import,
        "running": roster_import.status in RUNNING,
        "errors_page": Paginator(roster_import.errors, ERRORS_PER_PAGE).get_page(request.GET.get("page")),
    }
    return render(request, "surveys/roster/import_detail.html", context)


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
            "finished": roster_import.status not in RUNNING,
        }
    )


@require_GET
@role_required(*HR_ROLES)
def roster_import_errors(request, org_slug: str, import_id: int):
    roster_import = access_roster_import(membership=request.membership, import_id=import_id)
    response = HttpResponse(roster_import_errors_csv(roster_import=roster_import), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="roster-problems-{roster_import.pk}.csv"'
    return response


@require_GET
@role_required(*HR_ROLES)
def roster_template(request, org_slug: str):
    response = HttpResponse(roster_example_csv(organization=request.organization), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="pulse-roster-example.csv"'
    return response
