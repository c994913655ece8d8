"""Links and credentials never reach a log.

An invitation token is a key: whoever holds the link can answer that person's pulse; an
account's set-up or password link opens the account. Links appear in request lines (gunicorn's
access log, runserver's), in Django's warnings about requests (a 404 for a link that no longer
works, a refused CSRF check), in a Referer header and in e-mails printed by a console mail
backend. Everything the product and its containers write goes through `redact_tokens` first
(docs/privacy.md, "Side channels"). Besides the links' tokens it redacts credentials a query
string may carry (an identity provider's `code` and `state`, a `token`, a `key`), and the value
of an `Authorization` header or a session cookie quoted in a message.
"""

from __future__ import annotations

import logging
import re

#: What stays, then what is redacted: the token of an answering link
#: (surveys.core.tokens.invitation_path: /answer/<slug>/<token>), of an account's set-up or
#: password link (/accounts/activate/<uid>/<token>, /accounts/password/reset/<uid>/<token>), a
#: credential in a query string, and a credential in a header or cookie quoted in a message.
_TOKEN = re.compile(
    r"(/answer/[A-Za-z0-9_-]+/)[A-Za-z0-9_-]+"
    r"|(/accounts/(?:activate|password/reset)/[A-Za-z0-9_-]+/)(?!done/|sent/|new/)[A-Za-z0-9_:-]+"
    r"|([?&](?:code|state|token|key|access_token|id_token|SAMLResponse|SAMLRequest|RelayState)=)[^&\s\"']+"
    r"|((?:Authorization|authorization)[\"']?\s*[:=]\s*[\"']?(?:Bearer|Api-Key|Basic)\s+)[^\s\"',]+"
    r"|((?:sessionid|csrftoken)=)[^;\s\"',]+"
)
REDACTED = "[redacted]"


def redact_tokens(text: str) -> str:
    """`text` with the token of every link, and every credential it recognises, replaced by
    [redacted]."""
    return _TOKEN.sub(lambda match: next(group for group in match.groups() if group is not None) + REDACTED, text)


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
