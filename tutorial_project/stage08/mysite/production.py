"""
Settings for running the website and its workers in production.

They start from the development settings in settings.py and change what
production needs. Secrets, and everything that differs from one server to
the next, come from environment variables. Use these settings with:

    DJANGO_SETTINGS_MODULE=mysite.production

See https://docs.djangoproject.com/en/6.1/howto/deployment/checklist/
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .settings import *  # noqa: F403


def env(name, default=None):
    """The value of the environment variable *name*.

    Without a default, the variable is required: a missing or empty one
    stops Django with a message that names it.
    """
    value = os.environ.get(name, "")
    if value:
        return value
    if default is None:
        raise ImproperlyConfigured(f"Set the environment variable {name}.")
    return default


def env_int(name, default):
    """The whole number in the environment variable *name*."""
    value = env(name, default)
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"The environment variable {name} must be a whole number, not {value!r}."
        ) from None


def env_flag(name, default):
    """True or False, from the environment variable *name*."""
    value = env(name, default)
    if value not in ("true", "false"):
        raise ImproperlyConfigured(
            f"The environment variable {name} must be true or false, not {value!r}."
        )
    return value == "true"


SECRET_KEY = env("DJANGO_SECRET_KEY")

DEBUG = False

# The host names the website answers to, separated by commas.
ALLOWED_HOSTS = env("DJANGO_ALLOWED_HOSTS").split(",")

# The development settings add django-debug-toolbar while DEBUG is on.
# Production never shows it.
INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "debug_toolbar"]  # noqa: F405
MIDDLEWARE = [
    name
    for name in MIDDLEWARE  # noqa: F405
    if not name.startswith("debug_toolbar.")
]

# collectstatic copies the static files here, for the web server to serve.
STATIC_ROOT = BASE_DIR / "staticfiles"  # noqa: F405


# Database: PostgreSQL, through psycopg 3.

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": env("DATABASE_NAME"),
        "USER": env("DATABASE_USER"),
        # No password and no host: PostgreSQL's Unix socket on this machine,
        # where the server knows the system user. Set them for a server
        # elsewhere.
        "PASSWORD": env("DATABASE_PASSWORD", ""),
        "HOST": env("DATABASE_HOST", ""),
        "PORT": env("DATABASE_PORT", ""),
        # Keep each process's connection for up to 10 minutes instead of
        # opening one per request, and one per task in the workers. Before
        # a request or a worker's next look for tasks, Django checks that
        # the connection still works, and opens a new one if the database
        # server restarted meanwhile.
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
    },
}


# Email, through an SMTP server: your provider's, over TLS on port 587, or
# a relay on this machine (port 25, no TLS, no user).

MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": env("EMAIL_HOST"),
            "port": env_int("EMAIL_PORT", "587"),
            "username": env("EMAIL_USER", ""),
            "password": env("EMAIL_PASSWORD", ""),
            "use_tls": env_flag("EMAIL_USE_TLS", "true"),
            "timeout": 10,
        },
    },
}

DEFAULT_FROM_EMAIL = env("DJANGO_FROM_EMAIL")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Who hears about failed tasks: email addresses, separated by commas.
ADMINS = env("DJANGO_ADMINS").split(",")

# The address the website is reached at, for the links in emails.
SITE_URL = env("DJANGO_SITE_URL")


# HTTPS
# https://docs.djangoproject.com/en/6.1/topics/security/#ssl-https

# The web server in front of Django (nginx, Caddy...) handles HTTPS and
# passes the requests on over plain HTTP. It tells Django which ones came
# over HTTPS with this header. Only trust it from a server in front of
# Django that sets it on every request, replacing what the browser sent.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Redirect plain HTTP requests to HTTPS.
SECURE_SSL_REDIRECT = True

# Send the session and CSRF cookies over HTTPS only.
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

# HTTP Strict Transport Security: browsers that visited once use HTTPS for
# this site, and its subdomains, for the given time. Start with an hour;
# once everything works over HTTPS, raise it to a year (31536000).
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", "3600")
SECURE_HSTS_INCLUDE_SUBDOMAINS = True

# check --deploy also suggests SECURE_HSTS_PRELOAD, which asks browsers to
# put the site on their built-in HTTPS-only lists. That is hard to undo, so
# it is left off, and the suggestion with it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
