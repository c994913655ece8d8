"""A console e-mail backend that redacts answering links: for a deployment whose mail goes to
its logs (docker-compose.yml without an SMTP server). The demo keeps Django's own, so its
printed e-mails carry working links."""

from django.core.mail.backends.console import EmailBackend

from surveys.core.log_redaction import redact_tokens


class RedactingConsoleBackend(EmailBackend):
    def write_message(self, message) -> None:
        body = message.message().as_bytes(linesep="\n").decode("utf-8", "replace")
        self.stream.write(f"{redact_tokens(body)}\n{'-' * 79}\n")
