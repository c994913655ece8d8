"""Django admin for staff. Tenant models are read through `all_organizations` and are
read-only here (HR changes them through the product, where the rules live). Response, Answer,
Comment and Participation are not registered: no screen anywhere lists raw answers or who
answered. Rounds show published figures only, never a live count: a response counter would let
staff watch who just answered, and a count for a round that published nothing would be a figure
for a group smaller than k."""

from contextlib import nullcontext
from typing import ClassVar

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count, OuterRef, Subquery
from rest_framework_api_key.models import APIKey

from surveys.core.tenancy import organization_scope
from surveys.forms.accounts import AdminSignInForm
from surveys.models import (
    ActionPlan,
    Membership,
    Organization,
    Question,
    Result,
    Round,
    Survey,
    Team,
    User,
)
from surveys.services.retention import organization_delete


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "k", "k_comments", "is_active")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name", "slug")

    def delete_model(self, request, obj):
        """Everything it holds goes, what was said, its log and its cached results included
        (docs/operations.md, "Deleting an organisation")."""
        organization_delete(organization=obj)

    def delete_queryset(self, request, queryset):
        for organization in queryset:
            organization_delete(organization=organization)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "name", "is_staff", "is_active")
    search_fields = ("email", "name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class TenantReadOnlyAdmin(admin.ModelAdmin):
    """Lists tenant rows across organisations, on purpose, for staff; never edits them."""

    list_filter: ClassVar[tuple[str, ...]] = ("organization",)

    def get_queryset(self, request):
        return self.model.all_organizations.select_related("organization")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        with self._scope_of(object_id):
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        with self._scope_of(object_id):
            return super().delete_view(request, object_id, extra_context)

    def _scope_of(self, object_id):
        """One row's page runs in that row's organisation, so its related rows can be shown."""
        row = self.model.all_organizations.select_related("organization").filter(pk=object_id).first()
        return organization_scope(row.organization) if row is not None else nullcontext()


@admin.register(Team)
class TeamAdmin(TenantReadOnlyAdmin):
    list_display = ("path", "organization")
    search_fields = ("path",)


@admin.register(Membership)
class MembershipAdmin(TenantReadOnlyAdmin):
    list_display = ("user", "organization", "role", "team", "is_active")
    list_filter = ("organization", "role", "is_active")
    search_fields = ("user__email", "user__name")


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("code", "construct", "scale", "is_core", "organization", "text")
    list_filter = ("construct", "is_core", "scale")

    def get_queryset(self, request):
        return Question.all_organizations.select_related("organization")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Survey)
class SurveyAdmin(TenantReadOnlyAdmin):
    list_display = ("name", "organization", "cadence", "open_days", "is_active")


@admin.register(Round)
class RoundAdmin(TenantReadOnlyAdmin):
    list_display = ("__str__", "organization", "status", "opens_at", "closes_at", "k", "published")
    list_filter = ("organization", "status")

    def get_queryset(self, request):
        # Result rows exist only for published rounds and only for groups of at least k.
        published = Result.all_organizations.filter(round=OuterRef("pk"))
        return (
            super()
            .get_queryset(request)
            .select_related("survey")
            .annotate(
                published_nodes=Subquery(published.values("round").annotate(n=Count("pk")).values("n")[:1]),
                published_top=Subquery(published.order_by("-n").values("n")[:1]),
            )
        )

    @admin.display(description="published results")
    def published(self, obj):
        if not obj.published_nodes:
            return "—"
        return f"{obj.published_nodes} team nodes; {obj.published_top} answered in the largest"


@admin.register(ActionPlan)
class ActionPlanAdmin(TenantReadOnlyAdmin):
    list_display = ("title", "team", "organization", "status", "due_on")


# The API-key library's own model is installed for its migrations only; Pulse's keys are
# surveys.ApiKey, per organisation, managed by HR on Settings → API keys. Its empty admin page
# would only mislead.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)

# The admin's sign-in says why an attempt was paused, as the site's does (surveys/signin.py).
admin.site.login_form = AdminSignInForm
