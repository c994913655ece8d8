"""Revoking an API key on the settings page: shown first (name, what it may do, when it was last
used), final once done, and replaced by a new key offered with the old one's name and scope."""

import datetime as dt
import html
import re

from django.utils import timezone

from surveys.models import ApiKey, ApiKeyScope

API_TEAMS = "/api/v1/teams/"


def make_key(tenant, **fields) -> tuple[ApiKey, str]:
    return ApiKey.all_organizations.create_key(organization=tenant.org, name="Power BI", created_by=tenant.hr, **fields)


def words(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_revoking_a_key_is_previewed_then_final_and_a_replacement_is_offered(login, client, tenant):
    stored, secret = make_key(tenant, scope=ApiKeyScope.WRITE)
    ApiKey.all_organizations.filter(pk=stored.pk).update(last_used_at=timezone.now() - dt.timedelta(hours=3))
    hr = login(tenant.hr)
    listing = hr.get("/o/acme/settings/api-keys/").content.decode()
    url = f"/o/acme/settings/api-keys/{stored.prefix}/revoke/"
    assert f'href="{url}"' in listing  # a link to the preview, not a button that revokes
    preview = words(hr.get(url))
    assert "Revoke the key “Power BI”?" in preview and "Read and write (roster imports)" in preview
    assert "3 hours ago" in preview and "It cannot be undone." in preview and "nor import rosters" in preview
    assert client.get(API_TEAMS, HTTP_AUTHORIZATION=f"Api-Key {secret}").status_code == 200  # still works
    done = hr.post(url, follow=True)
    said = words(done)
    assert "is revoked: it stopped working now, and cannot be restored." in said
    assert "Create a replacement for Power BI" in said
    assert client.get(API_TEAMS, HTTP_AUTHORIZATION=f"Api-Key {secret}").status_code == 401
    again = words(hr.get(url))
    assert "This key is revoked already" in again and "Revoke “Power BI”" not in again
    assert len(hr.post(url, follow=True).context["messages"]) == 0  # revoking twice says nothing twice


def test_a_replacement_form_starts_from_the_revoked_keys_name_and_scope_and_ignores_nonsense(login, tenant):
    hr = login(tenant.hr)
    page = hr.get("/o/acme/settings/api-keys/", {"name": "Power BI", "scope": "write"}).content.decode()
    assert 'value="Power BI"' in page
    assert re.search(r'<input type="radio" name="scope" value="write"[^>]* checked', page)
    page = hr.get("/o/acme/settings/api-keys/", {"name": "x" * 500, "scope": "root"}).content.decode()
    assert re.search(r'<input type="radio" name="scope" value="read"[^>]* checked', page)
    assert "x" * 51 not in page
    assert not ApiKey.all_organizations.exists()  # opening the form creates nothing


def test_only_hr_revokes_and_another_organisations_key_is_404(login, tenant, other_tenant):
    ours, _ = make_key(tenant)
    theirs, _ = make_key(other_tenant)
    assert login(tenant.manager).get(f"/o/acme/settings/api-keys/{ours.prefix}/revoke/").status_code == 403
    hr = login(tenant.hr)
    assert hr.get(f"/o/acme/settings/api-keys/{theirs.prefix}/revoke/").status_code == 404
    assert hr.post(f"/o/acme/settings/api-keys/{theirs.prefix}/revoke/").status_code == 404
    assert hr.get("/o/acme/settings/api-keys/no-such-key/revoke/").status_code == 404
    assert not ApiKey.all_organizations.filter(revoked=True).exists()
