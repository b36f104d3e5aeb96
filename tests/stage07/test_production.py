"""Stage 7: mysite/production.py reads the server's environment, and
enqueue_digest enqueues the digest.

Runs in the stage's own pytest process, with the development settings.
Each test executes production.py afresh as a module of its own, with
os.environ as the test sets it, the way a process started with the env file
imports it: the settings this process runs with stay as they are.
"""

import importlib.util
import os
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from proof.in_stage import run_worker
from proof.production import ENV_EXAMPLE, read_env_file, required_variables

# What the reader puts in the example file's empty lines.
FILLED_IN = {
    "DJANGO_SECRET_KEY": "a-long-random-value-for-the-tests-only-" + "x" * 20,
    "EMAIL_PASSWORD": "the-providers-password",
}


def server_env():
    """The example file, filled in."""
    env = {**read_env_file(settings.BASE_DIR / ENV_EXAMPLE), **FILLED_IN}
    assert all(env.values()), env
    return env


def load(monkeypatch, module="mysite.production", **changes):
    """Execute *module* afresh with the server's environment and *changes*
    (None removes a variable); the module object."""
    for name in list(os.environ):
        if name.startswith(("DJANGO_", "DATABASE_", "EMAIL_")):
            monkeypatch.delenv(name)
    for name, value in {**server_env(), **changes}.items():
        if value is not None:
            monkeypatch.setenv(name, value)
    spec = importlib.util.find_spec(module)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def test_the_example_file_filled_in_gives_the_production_settings(monkeypatch):
    production = load(monkeypatch)
    assert production.DEBUG is False
    assert production.SECRET_KEY == FILLED_IN["DJANGO_SECRET_KEY"]
    assert production.ALLOWED_HOSTS == ["community.example.com"]
    assert production.DATABASES["default"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "community",
        "USER": "community",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
    }
    options = production.MAILERS["default"]["OPTIONS"]
    assert (options["host"], options["port"], options["use_tls"]) == (
        "smtp.example.com",
        587,
        True,
    )
    assert (options["username"], options["password"]) == (
        "community@example.com",
        FILLED_IN["EMAIL_PASSWORD"],
    )
    assert production.ADMINS == ["admin@example.com"]
    assert production.SERVER_EMAIL == production.DEFAULT_FROM_EMAIL
    assert production.SITE_URL == "https://community.example.com"
    assert production.SECURE_HSTS_SECONDS == 3600
    # Everything else comes from settings.py.
    assert production.TASKS == settings.TASKS
    assert production.LOGGING == settings.LOGGING


@pytest.mark.parametrize("value", [None, ""], ids=["missing", "empty"])
@pytest.mark.parametrize("name", required_variables())
def test_a_required_variable_missing_or_empty_is_named(monkeypatch, name, value):
    with pytest.raises(ImproperlyConfigured) as error:
        load(monkeypatch, **{name: value})
    assert str(error.value) == f"Set the environment variable {name}."


def test_lists_are_separated_by_commas(monkeypatch):
    production = load(
        monkeypatch,
        DJANGO_ALLOWED_HOSTS="community.example.com,www.community.example.com",
        DJANGO_ADMINS="ana@example.com,bo@example.com",
    )
    assert production.ALLOWED_HOSTS == [
        "community.example.com",
        "www.community.example.com",
    ]
    assert production.ADMINS == ["ana@example.com", "bo@example.com"]


def test_a_local_relay_instead_of_the_providers_server(monkeypatch):
    production = load(
        monkeypatch,
        EMAIL_HOST="localhost",
        EMAIL_PORT="25",
        EMAIL_USE_TLS="false",
        EMAIL_USER=None,
        EMAIL_PASSWORD=None,
        DJANGO_HSTS_SECONDS="31536000",
    )
    options = production.MAILERS["default"]["OPTIONS"]
    assert (options["host"], options["port"], options["use_tls"]) == (
        "localhost",
        25,
        False,
    )
    assert (options["username"], options["password"]) == ("", "")
    assert production.SECURE_HSTS_SECONDS == 31536000


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("EMAIL_PORT", "smtp", "must be a whole number, not 'smtp'."),
        ("DJANGO_HSTS_SECONDS", "1 year", "must be a whole number, not '1 year'."),
        ("EMAIL_USE_TLS", "yes", "must be true or false, not 'yes'."),
    ],
)
def test_a_value_of_the_wrong_kind_is_named(monkeypatch, name, value, message):
    with pytest.raises(ImproperlyConfigured) as error:
        load(monkeypatch, **{name: value})
    assert str(error.value) == f"The environment variable {name} {message}"


def test_production_leaves_the_toolbar_out(monkeypatch):
    """settings.py adds the toolbar whenever DEBUG was on and no test runs,
    which is the case when production.py imports it on the server."""
    monkeypatch.delenv("PYTEST_VERSION", raising=False)
    monkeypatch.setattr(sys, "argv", ["manage.py", "db_worker"])
    development = load(monkeypatch, "mysite.settings")
    assert "debug_toolbar" in development.INSTALLED_APPS
    monkeypatch.setitem(sys.modules, "mysite.settings", development)
    production = load(monkeypatch)
    assert "debug_toolbar" not in production.INSTALLED_APPS
    assert not [m for m in production.MIDDLEWARE if "debug_toolbar" in m]
    assert production.MIDDLEWARE == [
        m for m in development.MIDDLEWARE if "debug_toolbar" not in m
    ]


# -- enqueue_digest --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_enqueue_digest_enqueues_it_for_a_worker(member):
    out = StringIO()
    call_command("enqueue_digest", stdout=out)

    [row] = DBTaskResult.objects.all()
    assert out.getvalue() == (
        f"Enqueued send_digest on the 'default' queue: task result {row.id}\n"
    )
    assert (row.task_path, row.queue_name, row.status) == (
        "testimonials.tasks.send_digest",
        "default",
        "READY",
    )
    run_worker()
    row.refresh_from_db()
    assert row.status == "SUCCESSFUL"
    # One member: one batch, sent on the emails queue.
    [batch] = DBTaskResult.objects.exclude(pk=row.pk)
    assert row.return_value == [str(batch.id)]
    assert (batch.queue_name, batch.status) == ("emails", "SUCCESSFUL")
