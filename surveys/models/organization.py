from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import get_supported_language_variant, gettext_lazy

from surveys.core.exceptions import PulseError
from surveys.core.tenancy import TenantModel
from surveys.privacy.rules import DEFAULT_K, DEFAULT_K_COMMENTS, MAX_K, MAX_K_COMMENTS, MIN_K, thresholds_check

#: How long a round's raw answers, comments and participation flags are kept after its results
#: are published, in days: the organisation chooses within these bounds (docs/operations.md,
#: "Retention"). Published results stay; pages read nothing else.
ANSWERS_KEPT_DAYS_DEFAULT = 365
ANSWERS_KEPT_DAYS_MIN = 30
ANSWERS_KEPT_DAYS_MAX = 3650


class Organization(models.Model):
    """The tenant. Everything an organisation owns points here through `organization_id`."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    k = models.PositiveSmallIntegerField(
        "anonymity threshold",
        default=DEFAULT_K,
        validators=[MinValueValidator(MIN_K), MaxValueValidator(MAX_K)],
        help_text=f"Smallest group whose results are ever shown. Never below {MIN_K}.",
    )
    k_comments = models.PositiveSmallIntegerField(
        "comment threshold",
        default=DEFAULT_K_COMMENTS,
        validators=[MinValueValidator(MIN_K), MaxValueValidator(MAX_K_COMMENTS)],
        help_text="Smallest group whose comments are ever shown. Never below the anonymity threshold.",
    )
    support_text = models.TextField(
        blank=True,
        help_text="Shown to everyone after they answer: where to get help, in plain words.",
    )
    support_links = models.TextField(blank=True, help_text="One per line, as “Label | https://address”.")
    answers_kept_days = models.PositiveIntegerField(
        "keep answers and comments for (days after publication)",
        default=ANSWERS_KEPT_DAYS_DEFAULT,
        db_default=ANSWERS_KEPT_DAYS_DEFAULT,
        validators=[MinValueValidator(ANSWERS_KEPT_DAYS_MIN), MaxValueValidator(ANSWERS_KEPT_DAYS_MAX)],
        help_text="Then a round's raw answers, comments and who answered are deleted; its results stay.",
    )
    is_active = models.BooleanField(default=True)
    #: HR and admins must confirm each sign-in with a second factor (an authenticator app's code
    #: or a recovery code), and set one up before anything else.
    mfa_required = models.BooleanField(default=False, db_default=False)
    #: Managers, HR and admins may sign in only through the organisation's identity provider
    #: (`IdentityProvider`, turned on): their password is refused (services.identity).
    sso_required = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(k__gte=MIN_K), name="organization_k_min"),
            models.CheckConstraint(
                condition=models.Q(k_comments__gte=models.F("k")), name="organization_k_comments_gte_k"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            thresholds_check(k=self.k, k_comments=self.k_comments)
        except PulseError as error:
            raise ValidationError({error.code: error.message}) from None

    def support_link_list(self) -> list[dict[str, str]]:
        return parse_support_links(self.support_links)


def parse_support_links(text: str) -> list[dict[str, str]]:
    """Turn "Label | https://…" lines into [{"label", "url"}]; a bare address is its own label."""
    links = []
    for line in text.splitlines():
        label, _, url = (part.strip() for part in line.partition("|"))
        if not url:
            label, url = label, label
        if url:
            links.append({"label": label or url, "url": url})
    return links


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        if not email:
            raise ValueError("A user needs an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who can sign in. Global: one person may belong to several organisations."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    language = models.CharField(
        max_length=10,
        blank=True,
        default="",
        db_default="",  # rows written in bulk or by plain SQL (imports, benchmarks) leave it out
        help_text="The language of their pages and e-mails (a code of LANGUAGES); blank: their browser's.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.name or self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return (self.name or self.email).split(" ")[0]

    @property
    def message_language(self) -> str:
        """The language of what Pulse sends them: their own, else the site's."""
        return self.language or settings.LANGUAGE_CODE


def language_supported(code: str) -> str | None:
    """The shipped language (a code of LANGUAGES) a written code names (`fi`, `FI`, `en`, `en-US`,
    `de_DE`), or None when Pulse does not ship it. One home for reading a language someone typed
    (a roster file, the API, the chooser)."""
    cleaned = code.strip().lower().replace("_", "-")
    if not cleaned:
        return None
    try:
        return get_supported_language_variant(cleaned)
    except LookupError:
        return None


class Role(models.TextChoices):
    EMPLOYEE = "employee", gettext_lazy("Employee")
    MANAGER = "manager", gettext_lazy("Manager")
    HR = "hr", gettext_lazy("HR")
    ADMIN = "admin", gettext_lazy("Admin")


#: Every role: pages any member may open.
ALL_ROLES = frozenset(Role)
#: Who runs the programme (people, surveys, settings) and sees the whole organisation's results.
HR_ROLES = frozenset({Role.HR, Role.ADMIN})
#: Who sees results: managers for the teams they lead, HR and admins for every team.
MANAGER_ROLES = frozenset({Role.MANAGER, *HR_ROLES})


class Team(TenantModel):
    """A node of the organisation's team tree. `path` is the names from the root, "/"-joined.

    Path arithmetic lives here and nowhere else: "A/B/C" has the prefixes "A", "A/B" and
    "A/B/C", its parent path is "A/B", and it lies inside "A" and "A/B" (and itself).
    """

    SEPARATOR = "/"

    name = models.CharField(max_length=120)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.RESTRICT, related_name="children")
    path = models.CharField(max_length=600)
    managers = models.ManyToManyField(
        "surveys.Membership", through="surveys.TeamManagement", related_name="managed_teams"
    )

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "path"], name="team_unique_path"),
        ]
        indexes = [models.Index(fields=["organization", "parent"], name="team_org_parent")]

    def __str__(self) -> str:
        return self.path

    @property
    def depth(self) -> int:
        return self.path_depth(self.path)

    @classmethod
    def path_names(cls, path: str) -> list[str]:
        """The names along a path, top first: "A/B/C" -> ["A", "B", "C"]."""
        return path.split(cls.SEPARATOR)

    @classmethod
    def path_of(cls, names: Iterable[str]) -> str:
        """The path through `names`, top first: ["A", "B", "C"] -> "A/B/C"."""
        return cls.SEPARATOR.join(names)

    @classmethod
    def child_path(cls, parent: Team | None, name: str) -> str:
        """The path of a team called `name` directly under `parent` (None: at the top)."""
        return cls.path_of([parent.path, name]) if parent is not None else name

    @classmethod
    def path_depth(cls, path: str) -> int:
        """How many teams lie above the one at `path` (0 at the top)."""
        return path.count(cls.SEPARATOR)

    @classmethod
    def path_prefixes(cls, path: str) -> list[str]:
        """Every team a path passes through, top first: "A/B/C" -> "A", "A/B", "A/B/C"."""
        names = cls.path_names(path)
        return [cls.path_of(names[: depth + 1]) for depth in range(len(names))]

    @classmethod
    def parent_path(cls, path: str) -> str:
        """The path of the team above ("" for a top-level team)."""
        return path.rpartition(cls.SEPARATOR)[0]

    @classmethod
    def name_of(cls, path: str) -> str:
        return path.rpartition(cls.SEPARATOR)[2]

    @classmethod
    def path_within(cls, path: str, ancestor: str) -> bool:
        """Is the team at `path` the team at `ancestor` or below it?"""
        return path == ancestor or path.startswith(ancestor + cls.SEPARATOR)

    def contains(self, other: Team) -> bool:
        """Is `other` this team or one below it?"""
        return self.path_within(other.path, self.path)

    def subtree_filter(self, prefix: str = "") -> models.Q:
        """A Q matching this team and every team below it, on `<prefix>path`."""
        return models.Q(**{f"{prefix}path": self.path}) | self.below_filter(prefix)

    def below_filter(self, prefix: str = "") -> models.Q:
        """A Q matching every team below this one (not itself), on `<prefix>path`."""
        return models.Q(**{f"{prefix}path__startswith": self.path + self.SEPARATOR})


class Membership(TenantModel):
    """A user in an organisation, with a role and the one team they belong to."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.EMPLOYEE)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    account_invited_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When this organisation last e-mailed the person a link to set up their account.",
    )

    class Meta:
        ordering = ["user__email"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user"),
        ]
        indexes = [models.Index(fields=["organization", "team"], name="membership_org_team")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    @property
    def is_hr(self) -> bool:
        return self.role in HR_ROLES

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGER_ROLES


class TeamManagement(TenantModel):
    """`membership` leads `team` (and so may see the results of its whole subtree)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="management")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="management")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "team", "membership"], name="teammanagement_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.membership} manages {self.team}"
