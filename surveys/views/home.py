from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from surveys.access import role_required
from surveys.models import ALL_ROLES, Round
from surveys.presentation.results import HEATMAP_COLUMNS
from surveys.selectors.home import (
    first_run,
    led_team_figures,
    open_pulses,
    own_team,
    programme_overview,
    user_memberships,
)


@login_required
def landing(request):
    """Straight to the organisation when there is one; a chooser when there are several."""
    memberships = user_memberships(user=request.user)
    if len(memberships) == 1:
        return redirect("org_home", org_slug=memberships[0].organization.slug)
    return render(request, "surveys/landing.html", {"memberships": memberships})


@role_required(*ALL_ROLES)
def organization_home(request, org_slug: str):
    membership = request.membership
    pulses = open_pulses(membership=membership)
    context = {
        "open_pulses": pulses,
        "pulses_k": Round.shown_k_of(pulses, organization=request.organization),
        "team_figures": led_team_figures(membership=membership) if membership.is_manager else None,
        "columns": HEATMAP_COLUMNS,
        "overview": programme_overview(membership=membership) if membership.is_hr else None,
        # Between pulses: the person's own team, its latest shown results and its plans.
        "own_team": own_team(membership=membership) if membership.team_id and not membership.is_manager else None,
        "first_run": first_run(membership=membership),
    }
    return render(request, "surveys/home.html", context)
