"""/scim/v2/: the SCIM 2.0 service (surveys.scim.views). Resource paths take no trailing
slash (RFC 7644), and one is tolerated; anything else under /scim/ is a SCIM 404."""

from django.urls import re_path

from surveys.scim import views
from surveys.scim.errors import scim_not_found

urlpatterns = [
    re_path(r"^ServiceProviderConfig/?$", views.service_provider_config, name="scim_service_provider_config"),
    re_path(r"^ResourceTypes/?$", views.resource_types, name="scim_resource_types"),
    re_path(r"^ResourceTypes/(?P<resource_id>[^/]+)/?$", views.resource_types, name="scim_resource_type"),
    re_path(r"^Schemas/?$", views.schemas, name="scim_schemas"),
    re_path(r"^Schemas/(?P<resource_id>[^/]+)/?$", views.schemas, name="scim_schema"),
    re_path(r"^Users/?$", views.users, name="scim_users"),
    re_path(r"^Users/\.search/?$", views.users_search, name="scim_users_search"),
    re_path(r"^Users/(?P<resource_id>[^/]+)/?$", views.user, name="scim_user"),
    re_path(r"^Groups/?$", views.groups, name="scim_groups"),
    re_path(r"^Groups/\.search/?$", views.groups_search, name="scim_groups_search"),
    re_path(r"^Groups/(?P<resource_id>[^/]+)/?$", views.group, name="scim_group"),
    re_path(r"^\.search/?$", views.search_everything, name="scim_search"),
    re_path(r"", scim_not_found),
]
