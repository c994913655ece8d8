"""Answering links never reach a log.

An invitation token is a key: whoever holds the link can answer that person's pulse. Links
appear in request lines (gunicorn's access log, runserver's), in Django's warnings about
requests (a 404 for a link that no longer works, a refused CSRF check), in a Referer header and
in e-mails printed by a console mail backend. Everything the product and its containers write
goes through `redact_tokens` first (docs/privacy.md, "Side channels").
"""

from __future__ import annotations

import logging
import re

#: The token part of an answering link (surveys.core.tokens.invitation_path): /answer/<slug>/<token>.
_TOKEN = re.compile(r"(/answer/[A-Za-z0-9_-]+/)[A-Za-z0-9_-]+")
REDACTED = "[redacted]"


def redact_tokens(text: str) -> str:
    """`text` with the token of every answering link replaced by [redacted]."""
    return _TOKEN.sub(lambda match: match.group(1) + REDACTED, text)


class RedactTokens(logging.Filter):
    """A logging filter that formats each record's message and redacts the tokens in it (and in
    a traceback that was already rendered), for every handler it is attached to."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        redacted = redact_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_text:
            record.exc_text = redact_tokens(record.exc_text)
        return True
