from django.db import models
from django.utils.translation import gettext_lazy
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager, BaseAPIKeyManager

from surveys.core.tenancy import TenantManager, TenantModel

from .organization import Membership


class ApiKeyScope(models.TextChoices):
    READ = "read", gettext_lazy("Read only")
    WRITE = "write", gettext_lazy("Read and write (roster imports)")


class ScopedApiKeyManager(TenantManager, BaseAPIKeyManager):
    """The organisation's keys (fails closed without a scope), and `create_key` for them."""


class ApiKey(TenantModel, AbstractAPIKey):
    """An organisation's key for the REST API (djangorestframework-api-key): shown once, kept
    as a hash, named, read-only or read-write, optionally expiring, revocable. A key sees its
    own organisation and nothing else. It is looked up by its prefix before any organisation
    is in scope (`all_organizations.get_from_key`), then the request runs in its scope."""

    scope = models.CharField(max_length=10, choices=ApiKeyScope.choices, default=ApiKeyScope.READ)
    created_by = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedApiKeyManager()  # type: ignore[misc,assignment]
    all_organizations = APIKeyManager()  # type: ignore[misc]

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        indexes = [models.Index(fields=["organization", "created"], name="apikey_org_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def may_write(self) -> bool:
        return self.scope == ApiKeyScope.WRITE
