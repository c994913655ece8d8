from surveys.core.words import Words


class PulseError(Exception):
    """An error a user can cause. The web layer shows `message`; the API answers
    `{"detail": message, "code": code}` with `status`."""

    status = 400

    def __init__(self, message: Words, *, code: str = "invalid", status: int | None = None) -> None:
        super().__init__(message)
        self.message = str(message)  # in the language of the request that caused it
        self.code = code
        if status is not None:
            self.status = status
