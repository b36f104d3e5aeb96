"""Fixtures for every test of this stage."""

import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hash the test users' passwords fast: Django's default hasher is slow by design."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
