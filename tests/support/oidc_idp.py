"""A real OpenID Connect provider for the single sign-on tests: django-oauth-toolkit's, in a
Django process of its own (its own SQLite database, its own settings), on an ephemeral port.

    python -m tests.support.oidc_idp <redirect-uri> <client-id> <client-secret> <email>[,<email>…]

creates a confidential client allowed to send people back to <redirect-uri>, one person per
e-mail address (password `idp-password`), and prints `port <n>` once it serves. Pulse's code
plays no part in it: Pulse meets it exactly as it would meet Okta or Entra ID, by discovery.
"""

from __future__ import annotations

import socketserver
import sys
import tempfile
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import django
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

IDP_PASSWORD = "idp-password"
LOGIN_PAGE = """<!doctype html><html lang="en"><head><title>Test identity provider</title></head><body>
<h1>Test identity provider</h1><form method="post">{% csrf_token %}
<label for="id_username">Username</label><input id="id_username" name="username">
<label for="id_password">Password</label><input id="id_password" name="password" type="password">
<input type="hidden" name="next" value="{{ next }}"><button type="submit">Sign in at the provider</button></form>
{% if form.errors %}<p>Wrong username or password.</p>{% endif %}</body></html>"""


def _configure(folder: Path) -> None:
    (folder / "templates" / "registration").mkdir(parents=True)
    (folder / "templates" / "registration" / "login.html").write_text(LOGIN_PAGE)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings.configure(
        DEBUG=False,
        SECRET_KEY="test-identity-provider",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "oauth2_provider",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [str(folder / "templates")],
                "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
            }
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(folder / "idp.sqlite3")}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        LOGIN_URL="/login/",
        USE_TZ=True,
        OAUTH2_PROVIDER={
            "OIDC_ENABLED": True,
            "OIDC_RSA_PRIVATE_KEY": pem,
            "PKCE_REQUIRED": True,
            "SCOPES": {"openid": "OpenID Connect", "email": "E-mail address", "profile": "Name"},
            "OAUTH2_VALIDATOR_CLASS": f"{__name__}.ClaimsValidator",
        },
    )


def _validator():
    from oauth2_provider.oauth2_validators import OAuth2Validator

    class ClaimsValidator(OAuth2Validator):
        """The e-mail address and name, in the ID token and at the userinfo endpoint."""

        oidc_claim_scope = None

        def get_additional_claims(self, request):
            return {"email": request.user.email, "email_verified": True, "name": request.user.get_full_name()}

    return ClaimsValidator


def _urlpatterns():
    from django.contrib.auth.views import LoginView
    from django.urls import include, path

    return [
        path("login/", LoginView.as_view()),
        path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    ]


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # the test's output stays readable
        return


def main(redirect_uri: str, client_id: str, client_secret: str, emails: str) -> None:
    folder = Path(tempfile.mkdtemp(prefix="pulse-oidc-idp-"))
    _configure(folder)
    django.setup()
    module = sys.modules[__name__]
    module.ClaimsValidator = _validator()  # type: ignore[attr-defined]
    module.urlpatterns = _urlpatterns()  # type: ignore[attr-defined]
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    for email in emails.split(","):
        User.objects.create_user(username=email, email=email, password=IDP_PASSWORD, first_name=email.split("@")[0])
    Application.objects.create(
        name="Pulse",
        client_id=client_id,
        client_secret=client_secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    server = make_server("127.0.0.1", 0, get_wsgi_application(), server_class=_Server, handler_class=_QuietHandler)
    print(f"port {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:5])
