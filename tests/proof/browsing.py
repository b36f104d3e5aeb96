"""The built site, served over HTTP, and the Chromium that reads it.

The page tests (tests/test_browser.py) and the accessibility audit
(tests/test_accessibility.py) share these fixtures, which tests/conftest.py
registers: ``server`` serves the site that the ``site`` fixture built on a
free port of 127.0.0.1 (a thread of this process, for one test module), and
``browser`` is Debian's chromium, driven by playwright, which never downloads
a browser here. Without chromium or playwright the tests that need them skip,
which CI (``PROOF_FORBID_SKIPS``) turns into failures.
"""

import functools
import http.server
import sys
import threading

import pytest

from .chromium import CHROMIUM, launch


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A browser that closes a page may hang up mid-response (typically
        # on its own /favicon.ico probe); anything else is reported.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def server(site):
    """The base URL of the built site, served on 127.0.0.1."""
    assert (site.html / "index.html").is_file(), site.output
    handler = functools.partial(_QuietHandler, directory=str(site.html))
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(
            "playwright is not installed: `make venv` installs it from "
            "requirements.txt (never run `playwright install`)"
        )
    if not CHROMIUM.is_file():
        pytest.skip(
            f"no browser at {CHROMIUM}: install Debian's chromium: "
            "apt-get install chromium (or set PROOF_CHROMIUM)"
        )
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def same_origin(base):
    """A predicate: does a URL belong to the site served at *base*?"""
    return lambda url: url == base or url.startswith(base + "/")


def html_pages(root):
    """The built pages, as paths relative to the site's root."""
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*.html")
        if not path.relative_to(root).parts[0].startswith("_")
    )
