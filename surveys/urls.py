from django.contrib.auth import views as auth_views
from django.urls import include, path

from surveys.views import (
    accounts,
    answering,
    api_keys,
    audit,
    home,
    languages,
    mfa,
    organization,
    person_data,
    results,
    roster,
    scim_tokens,
    sso,
    surveys,
)

account_patterns = [
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Single sign-on: find the organisation's identity provider (allauth's own routes: /sso/).
    path("sso/", sso.sso_find, name="sso_find"),
    # Two-step sign-in: the code after signing in, and setting up an authenticator app.
    path("mfa/", mfa.mfa_challenge, name="mfa_challenge"),
    path("mfa/setup/", mfa.mfa_setup, name="mfa_setup"),
    path("password/reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    # An e-mailed link is opened once, then the password is chosen at an address without its token.
    path("password/reset/new/", accounts.AccountPasswordView.as_view(), name="password_reset_form"),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("password/reset/<uidb64>/<token>/", accounts.AccountLinkOpenView.as_view(), name="password_reset_confirm"),
    path("activate/new/", accounts.AccountActivateView.as_view(), name="account_activate_form"),
    path("activate/<uidb64>/<token>/", accounts.AccountSetupOpenView.as_view(), name="account_activate"),
]

# Every URL of an organisation lives under /o/<org_slug>/: OrganizationMiddleware resolves the
# slug against the user's membership (404 for anyone else) and scopes the request to it.
organization_patterns = [
    path("", home.organization_home, name="org_home"),
    path("people/", roster.people, name="roster_people"),
    path("people/new/", roster.person_add, name="roster_person_add"),
    path("people/<int:person_id>/", roster.person_edit, name="roster_person"),
    path("people/<int:person_id>/active/", roster.person_active, name="roster_person_active"),
    path("people/<int:person_id>/account/", roster.person_account, name="roster_person_account"),
    path("people/<int:person_id>/data/", person_data.person_data_page, name="person_data"),
    path("people/<int:person_id>/data.json", person_data.person_data_export, name="person_data_export"),
    path("people/<int:person_id>/erase/", person_data.person_erase_page, name="person_erase"),
    path("people/teams/<int:team_id>/", roster.team_edit, name="roster_team"),
    path("people/teams/<int:team_id>/merge/", roster.team_merge, name="roster_team_merge"),
    path("people/export.csv", roster.roster_export, name="roster_export"),
    path("people/history/", roster.roster_history_page, name="roster_history"),
    path("people/history/<int:change_id>/undo/", roster.roster_undo, name="roster_undo"),
    path("people/import/", roster.roster_import, name="roster_import"),
    path("people/import/example.csv", roster.roster_template, name="roster_template"),
    path("people/import/<int:import_id>/", roster.roster_import_detail, name="roster_import_detail"),
    path("people/import/<int:import_id>/cancel/", roster.roster_import_cancel_view, name="roster_import_cancel"),
    path("people/import/<int:import_id>/status/", roster.roster_import_status, name="roster_import_status"),
    path("people/import/<int:import_id>/problems.csv", roster.roster_import_errors, name="roster_import_errors"),
    path("surveys/", surveys.survey_index, name="survey_list"),
    path("surveys/new/", surveys.survey_create, name="survey_create"),
    path("surveys/<int:survey_id>/", surveys.survey_detail, name="survey_detail"),
    path("surveys/<int:survey_id>/edit/", surveys.survey_edit, name="survey_edit"),
    path("surveys/messages/preview/", surveys.survey_messages_preview, name="survey_messages_preview"),
    path("surveys/<int:survey_id>/preview/", surveys.survey_preview, name="survey_preview"),
    path("surveys/<int:survey_id>/test/", surveys.survey_test_send, name="survey_test_send"),
    path("surveys/<int:survey_id>/launch/", surveys.survey_launch, name="survey_launch"),
    path("surveys/<int:survey_id>/pause/", surveys.survey_pause, name="survey_pause"),
    path("surveys/<int:survey_id>/rounds/<int:round_id>/open/", surveys.round_open_now, name="round_open"),
    path("surveys/<int:survey_id>/rounds/<int:round_id>/close/", surveys.round_close_now, name="round_close"),
    path("settings/", organization.organization_settings, name="organization_settings"),
    path("settings/audit-log/", audit.audit_log_page, name="audit_log"),
    path("settings/sign-in/", sso.identity_settings, name="identity_settings"),
    path("settings/sign-in/two-step/", mfa.organization_mfa, name="organization_mfa"),
    path("settings/api-keys/", api_keys.api_keys, name="api_keys"),
    path("settings/api-keys/<str:key_prefix>/revoke/", api_keys.api_key_revoke_view, name="api_key_revoke"),
    path("settings/scim/", scim_tokens.scim_tokens, name="scim_tokens"),
    path("settings/scim/<str:prefix>/revoke/", scim_tokens.scim_token_revoke_view, name="scim_token_revoke"),
    path("people/held/<int:held_id>/", roster.scim_held_decide, name="scim_held_decide"),
    path("pulses/<int:round_id>/", answering.pulse_answer, name="pulse_answer"),
    path("pulses/<int:round_id>/thanks/", answering.pulse_thanks, name="pulse_thanks"),
    path("results/", results.results_overview, name="org_results"),
    path("teams/<int:team_id>/", results.team_dashboard, name="team_dashboard"),
    path("teams/<int:team_id>/plans/new/", results.action_plan_create, name="action_plan_create"),
    path("teams/<int:team_id>/plans/<int:plan_id>/", results.action_plan_edit, name="action_plan_edit"),
    path("teams/<int:team_id>/plans/<int:plan_id>/status/", results.action_plan_status, name="action_plan_status"),
    path("teams/<int:team_id>/plans/<int:plan_id>/delete/", results.action_plan_delete, name="action_plan_delete"),
]

# The invitation link: no sign-in, the token is the key (surveys.core.tokens.invitation_path).
# The slug is not called `org_slug`, so OrganizationMiddleware leaves these pages to
# access_invitation instead of asking for a sign-in.
answer_patterns = [
    path("", answering.answer, name="answer"),
    path("thanks/", answering.answer_thanks, name="answer_thanks"),
]

urlpatterns = [
    path("", home.landing, name="landing"),
    path("language/", languages.language_choose, name="language_choose"),
    path("accounts/", include(account_patterns)),
    path("o/<slug:org_slug>/", include(organization_patterns)),
    path("answer/<slug:organization_slug>/<str:token>/", include(answer_patterns)),
]
