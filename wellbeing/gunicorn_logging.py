"""gunicorn's logger with answering-link tokens redacted from the access and error logs
(gunicorn.conf.py names it; see surveys.core.log_redaction)."""

from gunicorn.glogging import Logger

from surveys.core.log_redaction import RedactTokens


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(existing, RedactTokens) for existing in log.filters):
                log.addFilter(RedactTokens())
