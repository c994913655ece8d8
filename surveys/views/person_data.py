"""A person's data on request (docs/operations.md, "A person's data"): what Pulse holds about
them, as a page and as a JSON download, and erasing it after a preview. HR and admins only."""

import json

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _

from surveys.access import access_person, role_required
from surveys.core.exceptions import PulseError
from surveys.forms.person_data import ErasureForm
from surveys.models import HR_ROLES
from surveys.selectors.person_data import ANSWERS_NOTE, erasure_preview, person_data
from surveys.services.person_data import person_erase


@role_required(*HR_ROLES)
def person_data_page(request, org_slug: str, person_id: int):
    person = access_person(membership=request.membership, person_id=person_id)
    data = person_data(membership=person)
    return render(
        request, "surveys/person_data/summary.html", {"person": person, "data": data, "answers_note": ANSWERS_NOTE}
    )


@role_required(*HR_ROLES)
def person_data_export(request, org_slug: str, person_id: int) -> HttpResponse:
    person = access_person(membership=request.membership, person_id=person_id)
    body = json.dumps(person_data(membership=person), indent=2, ensure_ascii=False, cls=DjangoJSONEncoder)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    name = slugify(person.user.email.replace("@", "-at-"))
    response["Content-Disposition"] = f'attachment; filename="pulse-{org_slug}-{name}.json"'
    return response


@role_required(*HR_ROLES)
def person_erase_page(request, org_slug: str, person_id: int):
    person = access_person(membership=request.membership, person_id=person_id)
    form = ErasureForm(request.POST or None, person=person)
    if request.method == "POST" and form.is_valid():
        try:
            person_erase(membership=person, actor=request.membership, mode=form.cleaned_data["mode"])
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            messages.success(request, _("Done. The roster history and the audit log now say “an erased person”."))
            return redirect("roster_people", org_slug=org_slug)
    preview = erasure_preview(membership=person)
    context = {"person": person, "form": form, "preview": preview, "answers_note": ANSWERS_NOTE}
    return render(request, "surveys/person_data/erase.html", context)
