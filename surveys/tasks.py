"""Celery entry points: ids in, call a service (DESIGN.md §7). Each job is also a management
command, so cron can run it without Redis."""
