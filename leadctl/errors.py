"""The one error type the CLI turns into a one-line message and an exit code."""

USAGE = 2  # usage or configuration error: nothing was changed
PARTIAL = 1  # done in part or refused


class LeadctlError(Exception):
    """A problem the user caused and can fix; `str(err)` is the whole message."""

    def __init__(self, message: str, code: int = USAGE):
        super().__init__(message)
        self.code = code


class ConfigError(LeadctlError):
    """The config file, or a change to it, is invalid. Exit 2, nothing written."""


class Refused(LeadctlError):
    """A request that is well formed but not allowed now (exit 1)."""

    def __init__(self, message: str):
        super().__init__(message, PARTIAL)
