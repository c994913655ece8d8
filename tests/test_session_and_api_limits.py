"""A session ends when left unused; the API's rate limit counts every request, even at once."""

import threading
import time

from django.core.cache import cache
from django.test import RequestFactory

from surveys.api.clients import ClientRateThrottle
from surveys.middleware import SEEN_KEY


def test_a_session_left_unused_is_signed_out(login, tenant, settings):
    client = login(tenant.hr)
    assert client.get("/o/acme/").status_code == 200
    session = client.session
    session[SEEN_KEY] = time.time() - settings.PULSE_SESSION_IDLE_MINUTES * 60 - 5
    session.save()
    page = client.get("/o/acme/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")


def test_a_session_in_use_stays_signed_in_and_lasts_hours_not_weeks(login, tenant, settings):
    client = login(tenant.hr)
    session = client.session
    session[SEEN_KEY] = time.time() - 60 * 5
    session.save()
    assert client.get("/o/acme/").status_code == 200
    assert settings.SESSION_COOKIE_AGE == 12 * 3600


class _Client:
    throttle_id = "key-under-test"


def test_the_api_rate_limit_counts_requests_that_come_at_once(monkeypatch):
    cache.clear()
    monkeypatch.setattr(ClientRateThrottle, "rate", "50/minute", raising=False)
    request = RequestFactory().get("/api/v1/surveys/")
    request.api_client = _Client()
    allowed: list[bool] = []
    start = threading.Barrier(20)

    def burst() -> None:
        start.wait()
        for _ in range(5):
            allowed.append(ClientRateThrottle().allow_request(request, None))

    threads = [threading.Thread(target=burst) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 100 and sum(allowed) == 50  # DRF's own throttle let far more through
    throttle = ClientRateThrottle()
    assert throttle.allow_request(request, None) is False and 0 < throttle.wait() <= 60
