from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from surveys.access import role_required
from surveys.core.exceptions import PulseError
from surveys.forms.organization import OrganizationSettingsForm
from surveys.models import HR_ROLES, ScimToken
from surveys.services.organization import organization_update


@role_required(*HR_ROLES)
def organization_settings(request, org_slug: str):
    form = OrganizationSettingsForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            organization_update(organization=request.organization, **form.cleaned_data)
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            messages.success(request, _("Settings saved. They apply to rounds that open from now on."))
            return redirect("organization_settings", org_slug=org_slug)
    tokens = ScimToken.objects.filter(revoked_at__isnull=True).order_by("-created_at")
    return render(request, "surveys/organization_settings.html", {"form": form, "scim_tokens": tokens})
