"""Organisation settings: name, anonymity thresholds, support resources, retention."""

from django.db import transaction
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from surveys.core.exceptions import PulseError
from surveys.core.names import name_check
from surveys.models import ANSWERS_KEPT_DAYS_MAX, ANSWERS_KEPT_DAYS_MIN, Organization, parse_support_links
from surveys.privacy.rules import thresholds_check

#: Link schemes a support resource may use. Anything else (javascript:, data:) could run script
#: in the page of everyone who answers.
SUPPORT_LINK_SCHEMES = ("https://", "http://", "mailto:", "tel:")
#: Support texts are served on every answering page: a few paragraphs, not a document.
SUPPORT_TEXT_MAX = 2_000
SUPPORT_LINKS_MAX = 2_000
SUPPORT_LINKS_COUNT = 10


def support_check(*, text: str, links: str) -> None:
    """Support resources short enough to serve on every answering page, with safe links."""
    if len(text.strip()) > SUPPORT_TEXT_MAX:
        raise PulseError(
            _("Keep the support text under %(limit)s characters (it has %(length)s): link to a longer page instead.")
            % {
                "limit": number_format(SUPPORT_TEXT_MAX, force_grouping=True),
                "length": number_format(len(text.strip()), force_grouping=True),
            },
            code="support_text",
        )
    if len(links.strip()) > SUPPORT_LINKS_MAX or len(parse_support_links(links)) > SUPPORT_LINKS_COUNT:
        raise PulseError(
            _("Keep to %(count)s links at most, in under %(limit)s characters.")
            % {"count": SUPPORT_LINKS_COUNT, "limit": number_format(SUPPORT_LINKS_MAX, force_grouping=True)},
            code="support_links",
        )
    support_links_validate(links)


def support_links_validate(text: str) -> None:
    """Every line must be "Label | address" (or a bare address) with a safe scheme."""
    for number, link in enumerate(parse_support_links(text), start=1):
        if not link["url"].lower().startswith(SUPPORT_LINK_SCHEMES):
            raise PulseError(
                _(
                    "Link %(number)s (“%(label)s”) needs an address starting with https://, http://, "
                    "mailto: or tel:, written as “Label | https://address”."
                )
                % {"number": number, "label": link["label"]},
                code="support_links",
            )


def organization_update(
    *,
    organization: Organization,
    name: str,
    k: int,
    k_comments: int,
    support_text: str,
    support_links: str,
    answers_kept_days: int | None = None,
) -> Organization:
    """Change the organisation's settings. Rounds already open keep the `k` they locked; a
    new retention applies to every round not purged yet (the next run of the job)."""
    name = name_check(name, code="name")
    if not name:
        raise PulseError(_("Give the organisation a name."), code="name")
    thresholds_check(k=k, k_comments=k_comments)
    support_check(text=support_text, links=support_links)
    if answers_kept_days is None:
        answers_kept_days = organization.answers_kept_days
    if not ANSWERS_KEPT_DAYS_MIN <= answers_kept_days <= ANSWERS_KEPT_DAYS_MAX:
        raise PulseError(
            _("Keep answers between %(least)s and %(most)s days after publication.")
            % {"least": ANSWERS_KEPT_DAYS_MIN, "most": number_format(ANSWERS_KEPT_DAYS_MAX, force_grouping=True)},
            code="answers_kept_days",
        )
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        organization.name = name
        organization.k = k
        organization.k_comments = k_comments
        organization.support_text = support_text.strip()
        organization.support_links = support_links.strip()
        organization.answers_kept_days = answers_kept_days
        fields = ["name", "k", "k_comments", "support_text", "support_links", "answers_kept_days"]
        organization.save(update_fields=fields)
    return organization
