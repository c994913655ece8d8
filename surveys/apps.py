from django.apps import AppConfig


class SurveysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "surveys"
    verbose_name = "Pulse"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.backends.signals import connection_created
        from django.db.models import Field, ForeignObject
        from django.db.models.signals import post_migrate

        from surveys import tasks  # noqa: F401
        from surveys.core import deploy_checks  # noqa: F401 (registers `check --deploy`'s shared-cache check)
        from surveys.core.bulk import AnyOf
        from surveys.core.database_roles import app_role_grant
        from surveys.core.telemetry import error_reporting_start, telemetry_start
        from surveys.core.tenancy import on_connection_created
        from surveys.models.audit import audit_fallback_connect

        # `import tasks` above registers the Celery tasks in every process (web, worker,
        # commands), so services can queue them by name (surveys.core.enqueue) without importing them.
        # Every PostgreSQL connection hands the scope over with each statement (row-level security).
        connection_created.connect(on_connection_created, dispatch_uid="pulse-organization-scope")
        # `migrate` (as the tables' owner) grants the app's own role its rights; importing
        # database_roles registers the check that warns when that role would bypass the policies.
        post_migrate.connect(app_role_grant, sender=self, dispatch_uid="pulse-app-role-grant")
        Field.register_lookup(AnyOf)
        ForeignObject.register_lookup(AnyOf)
        # Traces, metrics and error reports that never see an answer (docs/operations.md).
        telemetry_start(otlp_endpoint=settings.OTEL_EXPORTER_OTLP_ENDPOINT)
        error_reporting_start(dsn=settings.SENTRY_DSN, environment=settings.SENTRY_ENVIRONMENT)
        # The audit log's events from Django's signals where there are no triggers (SQLite).
        audit_fallback_connect()
        # A person with a second factor gives a code after every sign-in, before any page.
        from django.contrib.auth.signals import user_logged_in

        from surveys.views.mfa import second_factor_due_mark

        user_logged_in.connect(second_factor_due_mark, dispatch_uid="pulse-second-factor-due")
