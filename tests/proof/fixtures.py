"""The pytest fixtures of the end-to-end tests (tests/conftest.py loads them)."""

import pytest

from .inbox import smtp_inbox


@pytest.fixture
def project(migrated, tmp_path):
    """A copy of the module's ``migrated`` project, for one test.

    A test module that migrates one copy of a stage, in a module-scoped
    fixture named ``migrated``, gets a copy of it per test here (a module
    may define ``project`` itself instead).
    """
    return migrated.clone(tmp_path / "community")


@pytest.fixture
def inbox():
    """An SMTP server for one test; see :mod:`proof.inbox`."""
    with smtp_inbox() as received:
        yield received


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of this run's own; see :mod:`proof.postgres`.

    Without PostgreSQL's server programs the tests that need it skip,
    saying how to install them (CI installs them and forbids the skip).
    """
    from .postgres import MISSING, binaries, postgres_server

    if binaries() is None:
        pytest.skip(MISSING)
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def own_postgres():
    """A PostgreSQL server for one test module alone, which its tests may
    stop and restart (:meth:`~proof.postgres.PostgresServer.restart`): the
    session's server serves the tests running in parallel, and must stay up.
    The module's tests run one after the other, in one process."""
    from .postgres import MISSING, binaries, postgres_server

    if binaries() is None:
        pytest.skip(MISSING)
    with postgres_server() as server:
        yield server
