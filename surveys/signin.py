"""Sign-in that slows attackers without locking people out (docs/architecture.md, "Signing in").

Every sign-in form (the site's and the admin's) passes its request to `authenticate`, and
`SignInBackend` decides, before any password is hashed, whether this attempt is checked at all.
The rules, from the client's own record only, so that what an outsider does can never keep the
account's owner out:

- **A known browser is never held back.** A browser that signed in to an account before carries
  a signed cookie naming it (`KnownBrowsers`); its attempts on that account are always checked.
- **A fresh address is never refused.** An address that has not failed on an account may always
  try it, so the right password from the owner's own network always works, whatever others
  guessed.
- **Each address that fails on an account waits longer for each failure** (per account and
  address, `PULSE_SIGNIN_FREE_FAILURES` free, then 1 s, 2 s, 4 s … up to
  `PULSE_SIGNIN_MAX_DELAY_SECONDS`): one address guessing one account slows to a handful of
  guesses an hour; the owner who mistyped waits a second or two, never more than the guesser.
- **Each address has a budget of failures across accounts** (`PULSE_SIGNIN_ADDRESS_FAILURES` an
  hour), cut to `PULSE_SIGNIN_SPRAYING_ADDRESS_FAILURES` while the whole site is over its
  budget (`PULSE_SIGNIN_SITE_FAILURES` wrong passwords in ten minutes: someone is spraying one
  guess per account from many addresses). An address over its budget is refused before the
  session, the CSRF check or the database (`GuessingAddressMiddleware`), after a wait held in
  a thread of its own (`Tarpit`).

The client's address is the one the nearest trusted proxy saw (`client_address`,
`PULSE_TRUSTED_PROXY_HOPS`), never a header the client wrote. Counts live in the cache (Redis
when CACHE_URL is set, shared by every process; `incr` is atomic there), under keyed hashes, so
the cache holds no address or e-mail address. A cache that is down counts nothing: sign-in
then works as plain Django's, and the failure is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import threading
import time
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils.html import format_html
from django.utils.translation import get_language, get_language_bidi, ngettext
from django.utils.translation import gettext as _

from surveys.core.cross_lookups import people_by_email
from surveys.core.tenancy import person_scope_switch

logger = logging.getLogger(__name__)

#: Where a sign-in form posts: the site's and the admin's.
SIGN_IN_PATHS = frozenset({"/accounts/login/", "/admin/login/"})
HOUR = 3600
SITE_WINDOW = 600  # the site's budget is counted over ten minutes, in two buckets of five
KNOWN_COOKIE = "pulse_known"
KNOWN_MAX_AGE = 180 * 86400
KNOWN_MAX_ACCOUNTS = 5


def client_address(request) -> str:
    """The client's address as the nearest of `PULSE_TRUSTED_PROXY_HOPS` trusted proxies saw it:
    with none, the connection's own address; with n, the n-th address from the right of
    X-Forwarded-For (each proxy appends the address it was connected from, so entries further
    left were written by the client and are not believed). An IPv6 address stands for its /64,
    which one client usually holds whole."""
    address = request.META.get("REMOTE_ADDR", "") or ""
    hops = settings.PULSE_TRUSTED_PROXY_HOPS
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def folded(username: str) -> str:
    return unicodedata.normalize("NFKC", username or "").casefold().strip()


def _key(kind: str, *parts: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:32]
    return f"pulse:signin:{kind}:{digest}"


def _count(key: str) -> int:
    try:
        return int(cache.get(key) or 0)
    except Exception:  # a cache that is down counts nothing; sign-in goes on
        logger.warning("sign-in counts unavailable", exc_info=True)
        return 0


def _bump(key: str, timeout: int) -> int:
    try:
        cache.add(key, 0, timeout=timeout)
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1
    except Exception:
        logger.warning("sign-in counts unavailable", exc_info=True)
        return 0


def _site_buckets(now: float) -> tuple[str, str]:
    bucket = int(now // (SITE_WINDOW / 2))
    return f"pulse:signin:site:{bucket}", f"pulse:signin:site:{bucket - 1}"


def site_failures(now: float | None = None) -> int:
    return sum(_count(key) for key in _site_buckets(now or time.time()))


def address_budget() -> int:
    """Failures an address may have in an hour: the usual budget, or the tight one while the
    site as a whole is being sprayed."""
    if site_failures() >= settings.PULSE_SIGNIN_SITE_FAILURES:
        return settings.PULSE_SIGNIN_SPRAYING_ADDRESS_FAILURES
    return settings.PULSE_SIGNIN_ADDRESS_FAILURES


def address_over_budget(address: str) -> bool:
    return _count(_key("address", address)) >= address_budget()


def _epoch(username: str) -> str:
    """The account's current epoch: setting a password from an e-mailed link starts a new one,
    forgiving every address's failures on it at once."""
    return str(_count(_key("epoch", folded(username))))


def pair_wait(username: str, address: str, now: float | None = None) -> int:
    """Seconds this address must still wait before its next attempt on this account."""
    pair = _key("pair", folded(username), address, _epoch(username))
    failures = _count(pair)
    free = settings.PULSE_SIGNIN_FREE_FAILURES
    if failures < free:
        return 0
    delay = min(2 ** (failures - free), settings.PULSE_SIGNIN_MAX_DELAY_SECONDS)
    try:
        last = float(cache.get(pair + ":at") or 0)
    except Exception:
        return 0
    return max(0, math.ceil(last + delay - (now or time.time())))


def failure_record(username: str, address: str) -> None:
    """Count a wrong password: for the account from this address, for the address, for the site."""
    pair = _key("pair", folded(username), address, _epoch(username))
    _bump(pair, HOUR)
    try:
        cache.set(pair + ":at", time.time(), timeout=HOUR)
    except Exception:
        logger.warning("sign-in counts unavailable", exc_info=True)
    _bump(_key("address", address), HOUR)
    _bump(_site_buckets(time.time())[0], SITE_WINDOW)


def success_record(username: str, address: str) -> None:
    """The right password: this address's failures on this account are forgiven."""
    try:
        cache.delete(_key("pair", folded(username), address, _epoch(username)))
    except Exception:
        logger.warning("sign-in counts unavailable", exc_info=True)


def account_forgive(username: str) -> None:
    """The owner proved themselves (a password set from an e-mailed link): every address's
    failures on the account are forgiven."""
    _bump(_key("epoch", folded(username)), 30 * 86400)


class KnownBrowsers:
    """The accounts a browser has signed in to, in a signed cookie (keyed hashes, at most five)."""

    salt = "pulse.signin.known"

    @classmethod
    def of(cls, request) -> list[str]:
        try:
            value = signing.loads(request.COOKIES.get(KNOWN_COOKIE, ""), salt=cls.salt, max_age=KNOWN_MAX_AGE)
        except signing.BadSignature:
            return []
        return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []

    @classmethod
    def knows(cls, request, username: str) -> bool:
        return _key("known", folded(username)) in cls.of(request)

    @classmethod
    def remember(cls, request, response, username: str) -> None:
        mark = _key("known", folded(username))
        accounts = [mark, *[item for item in cls.of(request) if item != mark]][:KNOWN_MAX_ACCOUNTS]
        response.set_cookie(
            KNOWN_COOKIE,
            signing.dumps(accounts, salt=cls.salt),
            max_age=KNOWN_MAX_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )


@dataclass(frozen=True)
class Refusal:
    """Why an attempt was not checked, in words the form shows, and for how long."""

    seconds: int
    because: str

    @property
    def message(self) -> str:
        wait = ngettext("%(count)d second", "%(count)d seconds", self.seconds) % {"count": self.seconds}
        if self.seconds >= 90:
            minutes = math.ceil(self.seconds / 60)
            wait = ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
        return f"{self.because} " + _(
            "Try again in %(wait)s, or set a new password from the link we e-mail you "
            "(“Forgotten your password?” below): it works at once."
        ) % {"wait": wait}


def attempt_refusal(request, username: str) -> Refusal | None:
    """Whether this attempt is refused before its password is checked, and why."""
    if KnownBrowsers.knows(request, username):
        return None
    address = client_address(request)
    if address_over_budget(address):
        return Refusal(HOUR // 60 * 60, _("Too many wrong passwords have come from your network."))
    wait = pair_wait(username, address)
    if wait > 0:
        return Refusal(wait, _("Several wrong passwords for this account have come from your network."))
    return None


class SignInBackend(ModelBackend):
    """Django's password check, with the rules above around it. A call without a request (a
    test client's `login`, a shell) has no address to count, so it is checked as it is."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:  # login(email=…): the user model's USERNAME_FIELD, as ModelBackend reads it
            username = kwargs.pop(get_user_model().USERNAME_FIELD, None)
        if username is None:
            return None
        if request is not None:
            refusal = attempt_refusal(request, username)
            if refusal is not None:
                request.signin_refusal = refusal
                raise PermissionDenied(refusal.message)  # no other backend is asked
        for person_id, email, _unused in people_by_email([username]):
            if email == username:  # the account the form names, whose password is checked next
                person_scope_switch(person_id)
        if request is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        address = client_address(request)
        if user is None:
            failure_record(username, address)
        else:
            success_record(username, address)
            request.signin_known = username
        return user


def refused_page() -> str:
    """The refusal an address over its budget gets, short and without the site's layout (it is
    sent before anything else runs)."""
    return format_html(
        '<!doctype html><html lang="{}" dir="{}"><meta charset=utf-8><title>{} · Pulse</title><h1>{}</h1><p>{} '
        '<a href="/accounts/password/reset/">{}</a></p></html>',
        get_language(),
        "rtl" if get_language_bidi() else "ltr",
        _("Too many wrong passwords"),
        _("Too many wrong passwords from your network"),
        _(
            "Signing in from this network is paused for up to an hour after many wrong passwords. A browser you "
            "signed in with before still can, and a new password from the link we e-mail you works at once."
        ),
        _("Set a new password"),
    )


class GuessingAddressMiddleware:
    """Refuse a sign-in post from an address over its budget before anything else runs (no
    session, no CSRF check, no database), so a flood of guesses from one address costs almost
    nothing; and hold each refusal (`Tarpit`), so a script that waits for each answer guesses
    about once a second instead of thousands of times, with no CPU spent meanwhile. A browser
    that signed in before is let through to the backend, which knows it."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.tarpit = Tarpit(settings.PULSE_SIGNIN_TARPIT_SLOTS, settings.PULSE_SIGNIN_TARPIT_SECONDS)

    def __call__(self, request):
        if request.method != "POST" or request.path not in SIGN_IN_PATHS:
            return self.get_response(request)
        if not KnownBrowsers.of(request) and address_over_budget(client_address(request)):
            self.tarpit.hold(threaded=request.META.get("wsgi.multithread", False))
            return HttpResponse(refused_page(), status=429)
        response = self.get_response(request)
        known = getattr(request, "signin_known", None)
        if known is not None:
            KnownBrowsers.remember(request, response, known)
        elif getattr(request, "signin_refusal", None) is not None:
            self.tarpit.hold(threaded=request.META.get("wsgi.multithread", False))
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
