"""Sign-in protection: django-axes, for every sign-in that comes from a request.

Every sign-in form (the site's and the admin's) passes its request to `authenticate`, and
django-axes then refuses a locked-out account or address before any password is hashed. A
call without a request (a test client's `login`, a shell) has no address to count and nothing
to lock out, so it goes straight to the password check instead of failing.
"""

import threading
import time

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum
from django.http import HttpResponse


class SignInBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


#: Where a sign-in form posts: the site's and the admin's.
SIGN_IN_PATHS = frozenset({"/accounts/login/", "/admin/login/"})


def locked_page() -> str:
    """The refusal a locked-out address gets, short and without the site's layout (it is sent
    before anything else runs), saying what the full lockout page says."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Too many sign-in attempts · Pulse</title>"
        "<h1>Too many sign-in attempts</h1><p>Signing in is paused for this network after several wrong "
        f"passwords. Try again in {minutes} minutes, or set a new password now: the link we e-mail you "
        'unlocks your account. <a href="/accounts/password/reset/">Set a new password</a></p></html>'
    )


class LockedAddressMiddleware:
    """Refuse a sign-in post from an address already locked out before anything else runs (no
    session, no CSRF check, no database), so a flood of guesses from one address costs almost
    nothing. Each refusal django-axes makes for an address is remembered in the cache for the
    lockout's length (Redis when CACHE_URL is set: every worker knows at once).

    A refusal is also slow to come (`tarpit`), so a guessing script that waits for each answer
    guesses about once a second instead of thousands of times, and takes no CPU meanwhile."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.tarpit = Tarpit(settings.PULSE_SIGNIN_TARPIT_SLOTS, settings.PULSE_SIGNIN_TARPIT_SECONDS)

    def __call__(self, request):
        if request.method != "POST" or request.path not in SIGN_IN_PATHS:
            return self.get_response(request)
        key = f"pulse:signin-locked:{get_client_ip_address(request)}"
        if cache.get(key):
            self.tarpit.hold(threaded=request.META.get("wsgi.multithread", False))
            return HttpResponse(locked_page(), status=429)
        response = self.get_response(request)
        if response.status_code == 429 and _address_locked(request):
            cache.set(key, True, timeout=int(settings.AXES_COOLOFF_TIME.total_seconds()))
        return response


class Tarpit:
    """Hold a refused request for `seconds` before answering it, in at most `slots` threads of
    this process at once; past that, answer at once. Only under a threaded server (gunicorn's
    gthread workers, as configured): a request held there takes a thread, no CPU, and the
    threads left over serve everyone else, even when more guessers come than there are slots.
    Under a server with one request per process, holding one would hold the whole process."""

    def __init__(self, slots: int, seconds: float) -> None:
        self.slots = threading.BoundedSemaphore(max(slots, 1))
        self.enabled = slots > 0 and seconds > 0
        self.seconds = seconds

    def hold(self, *, threaded: bool) -> bool:
        """Wait before the refusal if a slot is free; whether it waited."""
        if not (self.enabled and threaded) or not self.slots.acquire(blocking=False):
            return False
        try:
            time.sleep(self.seconds)
        finally:
            self.slots.release()
        return True


def _address_locked(request) -> bool:
    """Whether django-axes holds the address itself (not only the account) locked out."""
    attempts = AccessAttempt.objects.filter(ip_address=get_client_ip_address(request))
    failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
    return failures >= settings.AXES_FAILURE_LIMIT
