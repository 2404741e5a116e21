"""The error a user can fix: printed by the command line as one line, without a traceback."""


class UserError(Exception):
    """An error the user can fix (a bad file, a missing folder); the message says what to do."""
