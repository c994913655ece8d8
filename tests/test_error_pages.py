"""Pulse's own 404 and 500 pages, in production and in the demo (DEBUG on), where Django's debug
pages would list every URL pattern and show tracebacks (surveys.middleware.OwnErrorPagesMiddleware)."""

import pytest
from django.test import Client

from surveys.views import home


def _boom(**kwargs):
    raise RuntimeError("a bug")


@pytest.mark.parametrize("debug", [True, False])
def test_a_missing_page_is_pulses_own_404(client, settings, debug, db):
    settings.DEBUG = debug
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "We could not find that page" in html and "URL patterns" not in html and "URLconf" not in html


@pytest.mark.parametrize("debug", [True, False])
def test_an_error_is_pulses_own_500_and_is_still_logged(tenant, settings, monkeypatch, debug, caplog):
    settings.DEBUG = debug
    monkeypatch.setattr(home, "user_memberships", _boom)
    client = Client(raise_request_exception=False)
    client.force_login(tenant.hr.user)
    response = client.get("/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html and "Traceback" not in html and "a bug" not in html
    assert any("a bug" in str(record.exc_info) for record in caplog.records if record.exc_info)


def test_a_developer_may_ask_for_djangos_debug_pages(client, settings, db):
    settings.DEBUG, settings.PULSE_DEBUG_PAGES = True, True
    assert "URL patterns" in client.get("/no-such-page/").content.decode()
