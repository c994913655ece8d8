"""Results pages for managers and HR: a team's dashboard, the results heatmap, action plans."""

import functools
import hashlib
from dataclasses import replace

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from surveys.access import access_action_plan, access_team, role_required
from surveys.core.exceptions import PulseError
from surveys.core.ids import whole_number
from surveys.core.replica import reads_replica
from surveys.forms.action_plans import ActionPlanForm, ActionPlanStatusForm
from surveys.models import MANAGER_ROLES, ActionPlanStatus
from surveys.presentation.results import HEATMAP_COLUMNS
from surveys.selectors import dashboard as selectors
from surveys.selectors.action_plans import plans_progress
from surveys.selectors.results import FLAGS_CACHE_SECONDS
from surveys.services import action_plans as services

#: How long a drawing of published figures stays cached: they never change, so this only bounds
#: the cache's size.
FIGURES_CACHE_SECONDS = FLAGS_CACHE_SECONDS


@require_GET
@role_required(*MANAGER_ROLES)
@reads_replica  # published figures: a replica may serve them (core/replica.py)
def team_dashboard(request, org_slug: str, team_id: int):
    team = access_team(membership=request.membership, team_id=team_id)
    dashboard = selectors.team_dashboard(
        membership=request.membership,
        team=team,
        survey_id=request.GET.get("survey"),
        round_id=request.GET.get("round"),
    )
    if dashboard.choice.notice:
        messages.warning(request, dashboard.choice.notice)
    context = {
        "dashboard": dashboard,
        "plans": plans_progress(team=team, plans=dashboard.plans, published=dashboard.choice.published),
        "columns": HEATMAP_COLUMNS,
        "statuses": ActionPlanStatus.choices,
        "today": timezone.localdate(),
        "figures_seconds": FIGURES_CACHE_SECONDS,
        "fragment_version": drawing_version() if not settings.DEBUG else _drawing_digest(),
    }
    return render(request, "surveys/results/team_dashboard.html", context)


def _drawing_digest() -> str:
    """A digest of the templates and template tags that draw figures: a release that draws
    them differently does not reuse drawings cached by the one before."""
    digest = hashlib.sha256()
    sources = sorted((settings.BASE_DIR / "templates" / "surveys" / "results").glob("*.html"))
    sources += sorted((settings.BASE_DIR / "surveys" / "templatetags").glob("*.py"))
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


#: Read once per process; with DEBUG, on every page, so an edited template shows at once.
drawing_version = functools.cache(_drawing_digest)


@require_GET
@role_required(*MANAGER_ROLES)
@reads_replica  # published figures: a replica may serve them (core/replica.py)
def results_overview(request, org_slug: str):
    opened = (whole_number(value) for value in request.GET.getlist("open"))
    overview = selectors.results_overview(
        membership=request.membership,
        survey_id=request.GET.get("survey"),
        round_id=request.GET.get("round"),
        open_teams=frozenset(team_id for team_id in opened if team_id is not None),
        expand=request.GET.get("expand") == "all",
        page=whole_number(request.GET.get("page")) or 1,
    )
    if overview.choice.notice:
        messages.warning(request, overview.choice.notice)
    context = {"overview": overview, "columns": HEATMAP_COLUMNS}
    return render(request, "surveys/results/overview.html", context)


@role_required(*MANAGER_ROLES)
def action_plan_create(request, org_slug: str, team_id: int):
    team = access_team(membership=request.membership, team_id=team_id)
    initial = {"round": request.GET.get("round"), "owner": request.membership.pk}
    form = ActionPlanForm(request.POST or None, team=team, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.action_plan_create(team=team, owner=request.membership, fields=form.plan_fields())
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            messages.success(
                request, _("Plan “%(title)s” added. Your team sees it after they next answer.") % {"title": plan.title}
            )
            return redirect(_back_to_dashboard(request, team.pk))
    return render(request, "surveys/results/action_plan_form.html", _form_context(request, form, team))


@role_required(*MANAGER_ROLES)
def action_plan_edit(request, org_slug: str, team_id: int, plan_id: int):
    team = access_team(membership=request.membership, team_id=team_id)
    plan = access_action_plan(team=team, plan_id=plan_id)
    form = ActionPlanForm(request.POST or None, team=team, plan=plan)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.action_plan_update(plan=plan, fields=form.plan_fields())
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            messages.success(request, _("Plan “%(title)s” saved.") % {"title": plan.title})
            return redirect(_back_to_dashboard(request, team.pk))
    return render(request, "surveys/results/action_plan_form.html", _form_context(request, form, team, plan))


@role_required(*MANAGER_ROLES)
def action_plan_status(request, org_slug: str, team_id: int, plan_id: int):
    """The dashboard's quick status change (the full form is `action_plan_edit`)."""
    team = access_team(membership=request.membership, team_id=team_id)
    plan = access_action_plan(team=team, plan_id=plan_id)
    if request.method == "POST":
        form = ActionPlanStatusForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose planned, in progress or done."))
        else:
            fields = replace(services.ActionPlanFields.of(plan), status=form.cleaned_data["status"])
            try:
                plan = services.action_plan_update(plan=plan, fields=fields)
            except PulseError as error:
                messages.error(request, error.message)
            else:
                messages.success(
                    request,
                    _("“%(title)s” is now %(status)s.")
                    % {"title": plan.title, "status": plan.get_status_display().lower()},
                )
    return redirect(_back_to_dashboard(request, team.pk))


@role_required(*MANAGER_ROLES)
def action_plan_delete(request, org_slug: str, team_id: int, plan_id: int):
    """GET asks (naming the plan), POST deletes."""
    team = access_team(membership=request.membership, team_id=team_id)
    plan = access_action_plan(team=team, plan_id=plan_id)
    back_url = _back_to_dashboard(request, team.pk)
    if request.method == "POST":
        services.action_plan_delete(plan=plan)
        messages.success(request, _("Plan “%(title)s” deleted.") % {"title": plan.title})
        return redirect(back_url)
    return render(
        request, "surveys/results/action_plan_delete.html", {"plan": plan, "team": team, "back_url": back_url}
    )


def _back_to_dashboard(request, team_id: int) -> str:
    """The dashboard, on the round it was showing (the dashboard validates it again)."""
    url = reverse("team_dashboard", kwargs={"org_slug": request.organization.slug, "team_id": team_id})
    round_id = whole_number(request.GET.get("round", ""))
    query = f"?round={round_id}" if round_id is not None else ""
    return f"{url}{query}#action-plans"


def _form_context(request, form: ActionPlanForm, team, plan=None) -> dict:
    return {"form": form, "team": team, "plan": plan, "back_url": _back_to_dashboard(request, team.pk)}
