from django.contrib.auth import views as auth_views
from django.urls import include, path

from surveys.views import answering, home

account_patterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

# Every URL of an organisation lives under /o/<org_slug>/: OrganizationMiddleware resolves the
# slug against the user's membership (404 for anyone else) and scopes the request to it.
organization_patterns = [
    path("", home.organization_home, name="org_home"),
    path("pulses/<int:round_id>/", answering.pulse_answer, name="pulse_answer"),
    path("pulses/<int:round_id>/thanks/", answering.pulse_thanks, name="pulse_thanks"),
]

# The invitation link: no sign-in, the token is the key (surveys.services.tokens.invitation_path).
# The slug is not called `org_slug`, so OrganizationMiddleware leaves these pages to
# access_invitation instead of asking for a sign-in.
answer_patterns = [
    path("", answering.answer, name="answer"),
    path("thanks/", answering.answer_thanks, name="answer_thanks"),
]

urlpatterns = [
    path("", home.landing, name="landing"),
    path("accounts/", include(account_patterns)),
    path("o/<slug:org_slug>/", include(organization_patterns)),
    path("answer/<slug:organization_slug>/<str:token>/", include(answer_patterns)),
]
