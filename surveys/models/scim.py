"""SCIM 2.0 provisioning (docs/architecture.md, "An identity provider provisions"): an
organisation's bearer tokens, what SCIM knows of a person beyond the roster, and deactivations
held for HR."""

from django.db import models
from django.utils import timezone

from surveys.core.tenancy import TenantModel

from .organization import Membership


class ScimToken(TenantModel):
    """A bearer token for an identity provider: shown once, kept as the SHA-256 of the whole
    token (they are long random strings, so a fast hash is enough), looked up by its prefix,
    revocable for good."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    hashed = models.CharField(max_length=64)
    created_by = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SCIM token"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "created_at"], name="scimtoken_org_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class ScimPerson(TenantModel):
    """What an identity provider calls a person, beside the roster's own truth (e-mail, name,
    team, activity on the membership): its userName, externalId, the parts of the name it sent,
    and whether it deleted the resource (SCIM then answers 404 for it; Pulse keeps the person,
    deactivated, as it keeps everyone whose rounds count them)."""

    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, related_name="scim")
    user_name = models.CharField(max_length=254)
    external_id = models.CharField(max_length=254, blank=True)
    name_parts = models.JSONField(default=dict, blank=True)
    display_name = models.CharField(max_length=200, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user_name"],
                condition=models.Q(deleted_at__isnull=True),
                name="scimperson_unique_user_name",
            ),
        ]


class HeldDeactivationStatus(models.TextChoices):
    HELD = "held", "Waiting for HR"
    APPLIED = "applied", "Deactivated"
    DISMISSED = "dismissed", "Kept active"


class ScimHeldDeactivation(TenantModel):
    """A deactivation an identity provider asked for while its deactivations of the last day
    were already many (`services.roster.provisioning.HOLD_SHARE`): not applied until HR
    confirms it on the People page, or keeps the person."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    token = models.ForeignKey(ScimToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(
        max_length=10, choices=HeldDeactivationStatus.choices, default=HeldDeactivationStatus.HELD
    )
    requested_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [models.Index(fields=["organization", "status"], name="scimheld_org_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "membership"],
                condition=models.Q(status="held"),
                name="scimheld_one_per_person",
            ),
        ]


class ScimTeam(TenantModel):
    """What an identity provider calls a team (a SCIM Group, whose displayName is the team's
    path): its externalId, and whether it deleted the group (SCIM then answers 404 for it;
    the team stays, since rounds may have been published on it)."""

    team = models.OneToOneField("surveys.Team", on_delete=models.CASCADE, related_name="scim")
    external_id = models.CharField(max_length=254, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
