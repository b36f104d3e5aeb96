"""The pytest fixtures of the end-to-end tests (tests/conftest.py loads them)."""

import pytest

from .inbox import smtp_inbox


@pytest.fixture
def inbox():
    """An SMTP server for one test; see :mod:`proof.inbox`."""
    with smtp_inbox() as received:
        yield received
