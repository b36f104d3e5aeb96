"""Stage 5: what the settings promise about logging, the admins and the toolbar.

The toolbar is left out while tests run (this process is pytest), and its
URLs with it; tests/test_part05_toolbar.py sees it in a real development
server.
"""

import logging

import pytest
from django.conf import settings
from django.urls import NoReverseMatch, reverse


def test_the_toolbar_is_left_out_while_tests_run():
    assert settings.TESTING is True
    assert "debug_toolbar" not in settings.INSTALLED_APPS
    assert not any("debug_toolbar" in m for m in settings.MIDDLEWARE)
    with pytest.raises(NoReverseMatch):
        reverse("djdt:render_panel")


def test_every_logger_of_the_part_prints_with_time_level_and_name():
    names = ("django.tasks", "django_tasks_db", "testimonials")
    # The one handler LOGGING names "console" (Python 3.11, which Django 5.2
    # supports, has no logging.getHandlerByName()).
    [handler] = {
        handler
        for name in names
        for handler in logging.getLogger(name).handlers
        if handler.name == "console"
    }
    for name in names:
        assert handler in logging.getLogger(name).handlers, logging.getLogger(
            name
        ).handlers
        record = logging.LogRecord(name, logging.INFO, __file__, 1, "hello", None, None)
        record.created = 1795476203.5  # 2026-11-23 23:23:23.5 UTC
        line = handler.formatter.format(record)
        assert line.endswith(f" INFO {name}: hello"), line
        assert len(line.split(" ")[0]) == 10 and len(line.split(" ")[1]) == 8, line


def test_django_tasks_lines_do_not_reach_the_django_logger():
    """Otherwise Django's console handler prints each line a second time."""
    assert logging.getLogger("django.tasks").propagate is False
    assert logging.getLogger("django").handlers, "Django's own handlers are gone"


def test_the_admins_hear_from_the_site():
    assert settings.ADMINS == ["admin@example.com"]
    assert settings.SERVER_EMAIL == settings.DEFAULT_FROM_EMAIL
    assert settings.EMAIL_SUBJECT_PREFIX == "[Community] "
