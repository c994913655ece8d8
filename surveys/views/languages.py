"""The language chooser: in every page's footer, for anyone, signed in or not."""

from django.conf import settings
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from surveys.core.exceptions import PulseError
from surveys.models import language_supported
from surveys.services.languages import person_language_set


# Exempt from CSRF so that the chooser carries no token (pages stay byte-identical whoever sees
# them). Another site cannot change a signed-in person's saved language with it: the session
# cookie is SameSite=Lax, so a cross-site POST arrives signed out and sets only this browser's
# language cookie, which the person's saved language outranks (PersonLanguageMiddleware).
@csrf_exempt
@require_POST
def language_choose(request):
    """Remember the chosen language in this browser (a cookie) and, for a signed-in person, on
    them (their pages and e-mails), then go back to the page it was chosen on (the Referer:
    same-origin pages send it)."""
    language = language_supported(request.POST.get("language", ""))
    if language is None:
        return HttpResponseBadRequest(translation.gettext("Pulse is not available in that language."))
    if request.user.is_authenticated:
        try:
            person_language_set(user=request.user, language=language)
        except PulseError as error:
            return HttpResponseBadRequest(error.message)
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = "/"
    response = HttpResponseRedirect(back)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite="Lax",  # as settings.LANGUAGE_COOKIE_SAMESITE
    )
    return response
