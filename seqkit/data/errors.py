"""The error raised for bad user data."""


class DataError(ValueError):
    """Bad input data: the message names the file, the line or row, and the value.

    It subclasses `ValueError`, so `except ValueError` catches it too.
    """
