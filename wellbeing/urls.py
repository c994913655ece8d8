from django.contrib import admin
from django.urls import include, path, re_path

from surveys.api.errors import not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("surveys.api.urls")),
    re_path(r"^api/", not_found),
    path("", include("surveys.urls")),
]
