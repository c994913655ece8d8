from django.urls import path

from delivery import views

urlpatterns = [
    path("o/<slug:org_slug>/settings/channels/", views.channel_settings, name="channel_settings"),
    path("o/<slug:org_slug>/settings/channels/outbox/", views.channel_outbox, name="channel_outbox"),
    path("o/<slug:org_slug>/settings/channels/slack/add/", views.slack_install, name="slack_install"),
    path("o/<slug:org_slug>/settings/channels/slack/callback/", views.slack_callback, name="slack_callback"),
]
