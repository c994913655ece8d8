# Read by gunicorn from the working directory (the Dockerfile's /app, docker-compose.yml, .ci/smoke).
# Request lines carry answering links; this logger redacts their tokens (surveys/log_redaction.py).
logger_class = "wellbeing.gunicorn_logging.RedactingLogger"

# No server banner: gunicorn names itself in a Server header on every response, which tells a
# scanner which software (and which of its bugs) to try. Responses say nothing instead.
import gunicorn.http.wsgi  # noqa: E402

gunicorn.http.wsgi.SERVER = ""
