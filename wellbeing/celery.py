"""The Celery application. Tasks live in surveys/tasks.py; the schedule is CELERY_BEAT_SCHEDULE."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wellbeing.settings")

app = Celery("wellbeing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
