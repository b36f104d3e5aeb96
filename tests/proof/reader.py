"""What the reader does in a browser, done over real HTTP for the replay.

A part page may ask the reader to log in or submit a form on the site that
``runserver`` serves. The page marks that place with
``.. reader-action:: name``; the replay then calls ``name(reader)`` from
``tests/proof/reader_actions/partNN.py``, NN being the part's number. The
replay loads that file by its path; the stage's own tests never import it.
The function uses :class:`Browser` against the running development server,
and asserts what the page says the reader sees (a message, a form error),
so the prose is checked too.
"""

import html
import importlib.util
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

from .paths import ROOT

# tests/proof/reader_actions/partNN.py: the reader actions of part NN.
ACTIONS = Path(__file__).with_name("reader_actions")

# The password the replay gives to any account the page creates with
# createsuperuser (the reader types their own at the prompt).
READER_PASSWORD = "tasks-tutorial-password"

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Page:
    status: int
    url: str
    text: str

    def contains(self, text):
        return text in html.unescape(self.text)


class Browser:
    """A cookie-keeping HTTP client that fills in Django's CSRF token."""

    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar())
        )

    def _open(self, request):
        try:
            with self.opener.open(request, timeout=30) as response:
                return Page(response.status, response.url, response.read().decode())
        except urllib.error.HTTPError as error:
            return Page(error.code, error.url, error.read().decode())

    def get(self, path):
        return self._open(self.base_url + path)

    def submit(self, path, data, action=None):
        """Load the form at *path*, then post *data* to it, as a click would.

        *action* is the URL the form posts to, when it isn't *path* itself;
        the page must show a form with that action.
        """
        form = self.get(path)
        token = _CSRF.search(form.text)
        if token is None:
            raise AssertionError(f"{path} shows no form with a CSRF token")
        target = form.url
        if action is not None:
            if f'action="{action}"' not in form.text:
                raise AssertionError(f"{path} shows no form that posts to {action}")
            target = self.base_url + action
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1), **data})
        request = urllib.request.Request(target, data=body.encode(), method="POST")
        return self._open(request)

    def log_in(self, username, password=READER_PASSWORD):
        page = self.submit(
            "/accounts/login/", {"username": username, "password": password}
        )
        if "/accounts/login/" in page.url:
            raise AssertionError(f"logging in as {username!r} failed")
        return page


class Reader:
    """Handed to a reader action: the browser, the project and the password."""

    password = READER_PASSWORD

    def __init__(self, replay):
        self.replay = replay
        self._browser = None

    @property
    def project(self):
        return self.replay.project

    @property
    def browser(self):
        if self._browser is None:
            self._browser = Browser(self.replay.server_url())
        return self._browser


def actions_file(part):
    """The file that holds part *part*'s reader actions."""
    return ACTIONS / f"part{part:02d}.py"


def load_action(part, name):
    path = actions_file(part)
    if not path.is_file():
        raise LookupError(f"{path.relative_to(ROOT)} does not exist")
    spec = importlib.util.spec_from_file_location(
        f"reader_actions.part{part:02d}", path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    action = getattr(module, name, None)
    if action is None:
        raise LookupError(f"{path.relative_to(ROOT)} has no function {name}()")
    return action
