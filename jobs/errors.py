"""The one base class of errors an operator fixes (bad configuration, bad input data, a
request naming something that does not exist): the CLI prints them as they are and
exits 2, without a traceback."""


class OperatorError(Exception):
    """What went wrong, where, and how to fix it, in the message itself."""
