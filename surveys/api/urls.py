from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import trust, views
from .errors import not_found

urlpatterns = [
    path("", views.ApiRoot.as_view(), name="api_root"),
    path("teams/", views.TeamList.as_view(), name="api_teams"),
    path("surveys/", views.SurveyList.as_view(), name="api_surveys"),
    path("rounds/", views.RoundList.as_view(), name="api_rounds"),
    path("results/", views.ResultList.as_view(), name="api_results"),
    path("results.csv", views.ResultCsv.as_view(), name="api_results_csv"),
    path("heatmap/", views.HeatmapView.as_view(), name="api_heatmap"),
    path("heatmap.csv", views.HeatmapCsv.as_view(), name="api_heatmap_csv"),
    path("plans/", views.ActionPlanList.as_view(), name="api_plans"),
    path("people/", views.PersonList.as_view(), name="api_people"),
    path("roster.csv", views.RosterCsv.as_view(), name="api_roster_csv"),
    path("roster/imports/", views.RosterImportCreate.as_view(), name="api_roster_imports"),
    path("roster/imports/<int:import_id>/", views.RosterImportDetail.as_view(), name="api_roster_import"),
    path(
        "roster/imports/<int:import_id>/confirm/", views.RosterImportConfirm.as_view(), name="api_roster_import_confirm"
    ),
    path("roster/imports/<int:import_id>/cancel/", views.RosterImportCancel.as_view(), name="api_roster_import_cancel"),
    path("audit-log/", trust.AuditLogView.as_view(), name="api_audit_log"),
    path("people/<int:person_id>/data/", trust.PersonDataView.as_view(), name="api_person_data"),
    path("people/<int:person_id>/erasure/", trust.PersonErasureView.as_view(), name="api_person_erasure"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api_schema", template_name="surveys/api_docs.html"),
        name="api_docs",
    ),
    re_path(r"^.*$", not_found),
]
