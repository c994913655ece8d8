from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from surveys.core.names import name_check
from surveys.models import ANSWERS_KEPT_DAYS_MAX, ANSWERS_KEPT_DAYS_MIN, Organization
from surveys.privacy.rules import MAX_K, MAX_K_COMMENTS, MIN_K, thresholds_check
from surveys.services.organization import SUPPORT_LINKS_MAX, SUPPORT_TEXT_MAX, support_check

from .base import PulseForm


class OrganizationSettingsForm(PulseForm):
    name = forms.CharField(label=gettext_lazy("Organisation name"), max_length=200)
    k = forms.IntegerField(
        label=gettext_lazy("Anonymity threshold"),
        min_value=MIN_K,
        max_value=MAX_K,
        help_text=(
            format_lazy(
                gettext_lazy(
                    "The smallest group whose results are ever shown. Never below {least}; 5 is a good default. "
                    "A higher number protects people better but hides results of small teams."
                ),
                least=MIN_K,
            )
        ),
    )
    k_comments = forms.IntegerField(
        label=gettext_lazy("Comment threshold"),
        min_value=MIN_K,
        max_value=MAX_K_COMMENTS,
        help_text=(
            gettext_lazy(
                "The smallest group whose comments are ever shown. Never below the anonymity threshold: "
                "a comment's wording can give its author away more easily than a score."
            )
        ),
    )
    support_text = forms.CharField(
        label=gettext_lazy("Support message"),
        required=False,
        max_length=SUPPORT_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Shown to everyone after they answer: where to get help, in plain words."),
    )
    support_links = forms.CharField(
        label=gettext_lazy("Support links"),
        required=False,
        max_length=SUPPORT_LINKS_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One per line, as “Label | https://address” (mailto: and tel: work too)."),
    )

    answers_kept_days = forms.IntegerField(
        label=gettext_lazy("Keep answers and comments for (days)"),
        required=False,  # left empty: as before
        min_value=ANSWERS_KEPT_DAYS_MIN,
        max_value=ANSWERS_KEPT_DAYS_MAX,
        help_text=(
            format_lazy(
                gettext_lazy(
                    "Days after a round's results are published, between {least} and {most}. Then its raw answers, "
                    "its comments and the record of who answered are deleted; its published results, and so its "
                    "dashboards, stay."
                ),
                least=ANSWERS_KEPT_DAYS_MIN,
                most=ANSWERS_KEPT_DAYS_MAX,
            )
        ),
    )

    def __init__(self, *args, organization: Organization, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "name": organization.name,
                "k": organization.k,
                "k_comments": organization.k_comments,
                "support_text": organization.support_text,
                "support_links": organization.support_links,
                "answers_kept_days": organization.answers_kept_days,
            },
        )
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        return self.check("name", name_check, value=self.cleaned_data["name"]) or ""

    def clean_support_links(self) -> str:
        links = self.cleaned_data["support_links"]
        self.check("support_links", support_check, text="", links=links)
        return links

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("k") is not None and data.get("k_comments") is not None:
            self.check("k_comments", thresholds_check, k=data["k"], k_comments=data["k_comments"])
        return data
