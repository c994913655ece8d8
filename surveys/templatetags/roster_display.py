"""How roster changes read: the teams a person would start or stop seeing, in the reader's language."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from surveys.core.words import list_words
from surveys.models import Role

register = template.Library()


@register.simple_tag
def teams_seen(seen) -> SafeString:
    """`TeamsSeen` (services.access_changes) as a phrase: "every team (12)", or the top teams'
    paths joined as a list, each with how many teams below it come too."""
    if seen.every:
        return format_html(_("every team ({count})"), count=seen.count)
    parts = [
        format_html(
            '<span class="team-path">{}</span>{}',
            path,
            ngettext(" (and the %(count)d team below it)", " (and the %(count)d teams below it)", below)
            % {"count": below}
            if below
            else "",
        )
        for path, below in seen.tops
    ]
    return mark_safe(list_words(parts))


@register.filter
def lead_names(leads) -> str:
    """Team leads' (memberships') names as one phrase: "Ada, Alan and Grace"."""
    return list_words([lead.user.get_full_name() for lead in leads])


@register.filter
def role_label(code: str) -> str:
    """A role's code ("manager", as exports write it) in the reader's words."""
    return str(Role(code).label) if code in Role.values else code
