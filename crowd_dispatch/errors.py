"""Exceptions raised by the dispatch engine."""


class DispatchError(Exception):
    """Base class of every error the engine raises on purpose."""


class InvalidInput(DispatchError, ValueError):
    """Bad input: names the offending field so callers can show a clear message.

    ``field`` is a dotted path such as ``"expert[12].lat"`` or ``"demand.jobs_per_hour"``.
    """

    def __init__(self, field, message):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")
