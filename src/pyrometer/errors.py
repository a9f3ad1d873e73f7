"""The one exception type the CLI turns into a one-line error and exit status 2."""


class UsageError(Exception):
    """Bad input from the user: an option, a file, a missing program."""
