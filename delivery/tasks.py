"""Celery entry points of the delivery layer."""

from celery import shared_task

from delivery.services.messages import messages_resume as messages_resume_service


@shared_task(name="delivery.tasks.messages_resume", acks_late=True)
def messages_resume() -> int:
    """Safety net for beat or cron: messages whose hand-over was lost, sent on."""
    return messages_resume_service()
