"""The one error type `pytask.cloud` raises for a connection or cloud it cannot use."""

from __future__ import annotations


class CloudConfigError(Exception):
    """A service connection or cloud description that cannot work, with a user-facing message.

    Tasks report `str(error)` as the failure reason, so the message names the connection,
    what is missing or wrong, and what to do; it never contains a secret.
    """
