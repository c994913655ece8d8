# Read by gunicorn from the working directory (the Dockerfile's /app, docker-compose.yml, .ci/smoke).
# Request lines carry answering links; this logger redacts their tokens (surveys/log_redaction.py).
logger_class = "wellbeing.gunicorn_logging.RedactingLogger"
