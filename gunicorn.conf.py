# Read by gunicorn from the working directory (the Dockerfile's /app, docker-compose.yml, .ci/smoke).
import os

import gunicorn.http.wsgi

# Request lines carry answering links; this logger redacts their tokens (surveys/core/log_redaction.py).
logger_class = "wellbeing.gunicorn_logging.RedactingLogger"

# No server banner: gunicorn names itself in a Server header on every response, which tells a
# scanner which software (and which of its bugs) to try. Responses say nothing instead.
gunicorn.http.wsgi.SERVER = ""

# Threads within each worker process (`--workers` processes): a refused sign-in
# waits a second in its own thread (surveys.signin.Tarpit) while the other threads
# serve everyone else. Each thread keeps its own database connection (CONN_MAX_AGE).
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
