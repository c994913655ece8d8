"""The audit log page (docs/operations.md, "Audit log"): who changed what, newest first. HR and
admins only; the API serves the same entries (`/api/v1/audit-log/`)."""

from django.shortcuts import render

from surveys.access import role_required
from surveys.models import HR_ROLES
from surveys.selectors.audit import KIND_CHOICES, audit_log


@role_required(*HR_ROLES)
def audit_log_page(request, org_slug: str):
    kind = request.GET.get("kind", "")
    kinds = [kind] if kind in dict(KIND_CHOICES) else []
    page = audit_log(cursor=request.GET.get("after", ""), kinds=kinds)
    context = {"page": page, "kind": kinds[0] if kinds else "", "kinds": KIND_CHOICES}
    return render(request, "surveys/audit_log.html", context)
