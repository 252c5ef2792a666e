"""The one base class of errors an operator acts on (bad configuration, bad input data, a
request naming something that does not exist, a warehouse another run holds): the CLI
prints them as they are, without a traceback, and exits with the error's `exit_code`."""


class OperatorError(Exception):
    """What went wrong, where, and how to fix it, in the message itself.

    Exit 2 by default: final, a retry cannot fix it (Airflow does not retry). A
    subclass that a later retry can get past (another delivery holds the lease: 3)
    says so with its own code."""

    exit_code = 2
