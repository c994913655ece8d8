from django.apps import AppConfig


class SurveysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "surveys"
    verbose_name = "Pulse"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web, worker, commands), so services can
        # queue them by name (surveys.enqueue) without importing the tasks module.
        from surveys import tasks  # noqa: F401
