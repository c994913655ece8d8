"""A second factor for signing in (docs/architecture.md, "Signing in"): an authenticator app's
six-digit codes (TOTP) and single-use recovery codes, on django-otp.

Anyone may set one up; HR and admins of an organisation that asks for it must
(`Organization.mfa_required`). Once a person has one, every sign-in (password or single sign-on)
asks for a code before any page (`middleware.SignInRulesMiddleware`). Wrong codes slow the next
attempts down (django-otp's throttling, per device)."""

from __future__ import annotations

import base64
import io
import math
import re
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp import verify_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from surveys.core.exceptions import PulseError
from surveys.models import HR_ROLES, Membership, Organization, User

#: Set in the session at sign-in for a person with a second factor: no page opens until they give
#: a code (`middleware.SignInRulesMiddleware`).
MFA_PENDING_KEY = "pulse_mfa_pending"
RECOVERY_CODES = 10
APP_DEVICE = "Authenticator app"
RECOVERY_DEVICE = "Recovery codes"
_TOTP = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class Enrolment:
    """What the set-up page shows: the QR code an app scans (as an SVG data address) and the same
    secret written out, for typing in."""

    qr_data_uri: str
    secret: str


def mfa_has_factor(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_required_by(*, user: User) -> Organization | None:
    """The first organisation that asks this person (HR or an admin there) for a second factor."""
    membership = (
        Membership.all_organizations.filter(
            user=user, is_active=True, role__in=HR_ROLES, organization__mfa_required=True
        )
        .select_related("organization")
        .first()
    )
    return membership.organization if membership is not None else None


def mfa_enrolment_begin(*, user: User) -> Enrolment:
    """A new authenticator-app secret, not yet in force (until a code from it is confirmed)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=user, name=APP_DEVICE, confirmed=False)
    return _enrolment(device)


def mfa_enrolment_pending(*, user: User) -> Enrolment | None:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return _enrolment(device) if device is not None else None


def _enrolment(device: TOTPDevice) -> Enrolment:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return Enrolment(f"data:image/svg+xml;base64,{base64.b64encode(buffer.getvalue()).decode()}", secret)


@transaction.atomic
def mfa_enrolment_confirm(*, user: User, code: str) -> tuple[TOTPDevice, list[str]]:
    """Put the pending authenticator app in force once a code from it is right; replaces any
    earlier app. Returns it and a fresh set of recovery codes (shown once)."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None:
        raise PulseError(_("Start again: scan a new code with your authenticator app."), code="code")
    if not _TOTP.match(code.strip()) or not device.verify_token(code.strip()):
        raise PulseError(
            _("That code is not right. Check your device's clock, and type the code your app shows now."), code="code"
        )
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save()
    return device, mfa_recovery_codes_renew(user=user)


@transaction.atomic
def mfa_recovery_codes_renew(*, user: User) -> list[str]:
    """Ten new single-use recovery codes; the earlier ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def mfa_verify(*, user: User, code: str) -> TOTPDevice | StaticDevice:
    """The device that accepts this code: the app's six digits, or a recovery code (spent).
    Wrong codes make the device wait longer before it checks the next one."""
    code = re.sub(r"\s+", "", code or "")
    if _TOTP.match(code):
        devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    else:
        devices = list(StaticDevice.objects.filter(user=user, confirmed=True))
        code = code.lower()
    for device in devices:
        allowed, details = device.verify_is_allowed()
        if not allowed:
            until = (details or {}).get("locked_until")
            wait = max(1, math.ceil((until - timezone.now()).total_seconds())) if until else 1
            raise PulseError(
                ngettext(
                    "Too many wrong codes in a row: wait %(seconds)d second, then try again.",
                    "Too many wrong codes in a row: wait %(seconds)d seconds, then try again.",
                    wait,
                )
                % {"seconds": wait},
                code="code",
                status=429,
            )
        accepted = verify_token(user, device.persistent_id, code)
        if accepted is not None:
            return accepted
    raise PulseError(_("That code is not right. Type the code your app shows now, or a recovery code."), code="code")


@transaction.atomic
def mfa_remove(*, user: User) -> None:
    """Turn the second factor off, unless an organisation asks this person for it."""
    organization = mfa_required_by(user=user)
    if organization is not None:
        raise PulseError(
            _("%(organization)s asks HR and admins for a second factor, so it cannot be turned off.")
            % {"organization": organization.name},
            code="mfa_required",
        )
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def organization_mfa_require(*, organization: Organization, required: bool, actor: User) -> Organization:
    """Ask (or stop asking) every HR person and admin of the organisation for a second factor.
    Whoever asks it must have one already, so that they know what their colleagues will meet."""
    if required and not mfa_has_factor(user=actor):
        raise PulseError(
            _("Set up your own second factor first (Two-step sign-in), then require it of HR and admins."),
            code="mfa_required",
        )
    organization.mfa_required = required
    organization.save(update_fields=["mfa_required"])
    return organization


@transaction.atomic
def mfa_reset(*, user: User) -> int:
    """An operator's reset for someone who lost both their app and their recovery codes (whatever
    their organisations ask: those that require one ask them to set up a new one). How many
    factors were removed."""
    removed = TOTPDevice.objects.filter(user=user, confirmed=True).count()
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    return removed
