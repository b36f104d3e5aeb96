"""The markup of Django's documentation that the tutorial's chapters use.

Who this is for: the authors of the chapters and Django's docs team. The
chapters are written so that they can move into Django's own docs, so they
use Django's markup, and this extension provides it for this site with the
behavior of Django's ``djangodocs`` extension (the code is our own). A page
that uses only this markup is meant to move into Django's docs as it is.
What only this site needs is in ``tutorial_markup.py``.

Roles linking into Django's docs
    ``:setting:``, ``:djadmin:``, ``:ttag:``, ``:tfilter:`` and ``:lookup:``
    are cross-reference roles of Sphinx's ``std`` domain. Each creates a
    ``pending_xref`` (``refdomain="std"``, ``reftype`` = the role's name) for
    an object type of the same name as in Django's inventory, so intersphinx
    resolves it against ``docs/_inventories/django.inv``:

    =============  ==========================  =========================
    role           object type (``std:...``)   matching directive
    =============  ==========================  =========================
    ``setting``    ``setting``                 ``.. setting::``
    ``djadmin``    ``django-admin``            ``.. django-admin::``
    ``ttag``       ``templatetag``             ``.. templatetag::``
    ``tfilter``    ``templatefilter``          ``.. templatefilter::``
    ``lookup``     ``fieldlookup``             ``.. fieldlookup::``
    =============  ==========================  =========================

    The link text is the name in code style, as in Django's docs.

``.. console::``
    A shell session written for Unix: lines starting with ``$`` and a space
    are commands, every other line is output (``^C`` stands for Ctrl+C).
    It shows two tabs, "Linux/macOS" with the session as written
    (highlighted as ``console``) and "Windows" with :func:`to_windows`
    applied to it (highlighted as ``doscon``). An optional ``:caption:`` is
    shown above the block in both tabs.

    The doctree: a ``container`` (class ``console-block``) holding a
    :class:`console_tabs` node with one :class:`console_tab` per platform,
    each holding its ``literal_block`` (wrapped with its caption when there
    is one). In HTML, a tab is a radio button, its label and the block, as
    in Django's docs; ``docs/_static/console-tabs.css`` styles them and
    ``docs/_static/console-tabs.js`` makes a choice apply to every console
    of the page (and lets ``?tabs=Windows`` in a link choose the tab).
"""

import html
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.directives.code import container_wrapper
from sphinx.util.docutils import SphinxDirective

__version__ = "2.0"

# Role name -> (object type in Django's inventory, index entry template).
CROSSREF_TYPES = {
    "setting": ("setting", "pair: %s; setting"),
    "ttag": ("templatetag", "pair: %s; template tag"),
    "tfilter": ("templatefilter", "pair: %s; template filter"),
    "lookup": ("fieldlookup", "pair: %s; field lookup type"),
}
DJADMIN_TYPE = "django-admin"

UNIX_PROMPT = "$ "
# The doscon lexer recognizes a prompt ending in ">"; Django's docs use this
# one, which also matches the prompts copybutton removes (see conf.py).
WINDOWS_PROMPT = "...\\> "

UNIX_LABEL = "Linux/macOS"
WINDOWS_LABEL = "Windows"
SERVER_LABEL = "Linux server"

# The style and behavior of the tabs, in docs/_static/.
STATIC_DIR = Path(__file__).resolve().parent.parent / "_static"
TABS_CSS = "console-tabs.css"
TABS_JS = "console-tabs.js"


# -- Unix to Windows -----------------------------------------------------------

# A word of a command line: unquoted characters and quoted strings, glued.
_WORD = re.compile(r"""(?:[^\s'"]+|"[^"]*"|'[^']*')+""")
# host:port/..., a URL without its scheme.
_HOST_PORT = re.compile(r"^[\w.-]+:\d+(?:/|$)")
_ACTIVATE = "/bin/activate"


def _split_words(command):
    """Split into words and the whitespace between them, losing nothing.

    Returns None when the quotes are unbalanced.
    """
    pieces = []
    position = 0
    while position < len(command):
        space = re.match(r"\s+", command[position:])
        if space:
            pieces.append(space.group())
            position += space.end()
            continue
        word = _WORD.match(command, position)
        if not word:
            return None
        pieces.append(word.group())
        position = word.end()
    return pieces


def _is_path(word):
    """Whether a word is a file path written with forward slashes."""
    return (
        "/" in word
        and not word.startswith("-")
        and "'" not in word
        and '"' not in word
        and "://" not in word
        and not _HOST_PORT.match(word)
    )


def _path_to_windows(word):
    if word.startswith("~/"):
        word = "%USERPROFILE%/" + word[2:]
    return word.replace("/", "\\")


def _quotes_to_windows(word):
    """cmd.exe knows only double quotes: 'a b' becomes "a b"."""
    if "'" in word and '"' not in word:
        return word.replace("'", '"')
    return word


def _command_to_windows(command):
    """Translate one command line (without its prompt)."""
    pieces = _split_words(command)
    if pieces is None:
        return command
    words = [p for p in pieces if not p.isspace()]
    if not words:
        return command

    # Activating a virtual environment: no "source", and Scripts, not bin.
    if (
        len(words) == 2
        and words[0] in ("source", ".")
        and (words[1] == _ACTIVATE[1:] or words[1].endswith(_ACTIVATE))
    ):
        folder = words[1][: -len(_ACTIVATE)]
        activate = "Scripts\\activate"
        return _path_to_windows(folder) + "\\" + activate if folder else activate

    # The py launcher creates virtual environments on Windows.
    if words[0] in ("python", "python3") and words[1:3] == ["-m", "venv"]:
        pieces[pieces.index(words[0])] = "py"

    # Git wants forward slashes in branch names; paths work with them too.
    convert_paths = words[0] != "git"

    translated = []
    for piece in pieces:
        if piece.isspace():
            translated.append(piece)
        elif convert_paths and _is_path(piece):
            translated.append(_path_to_windows(piece))
        else:
            translated.append(_quotes_to_windows(piece))
    return "".join(translated)


def to_windows(text):
    """Turn a Unix shell session into its Windows (cmd.exe) equivalent.

    Commands are lines starting with ``$`` and a space; the prompt becomes
    ``...\\>`` and a space. In commands, ``source X/bin/activate`` becomes
    ``X\\Scripts\\activate``, ``python -m venv`` becomes ``py -m venv``, and
    arguments that are paths use backslashes (URLs, options such as
    ``--settings=a/b``, quoted words and the arguments of ``git`` are left
    alone; single quotes become double quotes). A command continued with a
    trailing backslash continues with ``^`` instead. Output lines, ``^C``
    included, are unchanged.
    """
    lines = []
    continued = False
    for line in text.split("\n"):
        if line.startswith(UNIX_PROMPT) or line == UNIX_PROMPT.rstrip():
            prompt, command = WINDOWS_PROMPT, line[len(UNIX_PROMPT) :]
        elif continued:
            prompt, command = "", line
        else:
            lines.append(line)
            continue
        continued = command.endswith("\\")
        if continued:
            command = command[:-1]
        translated = prompt + _command_to_windows(command)
        lines.append(translated + "^" if continued else translated.rstrip())
    return "\n".join(lines)


# -- The tabs of a console -----------------------------------------------------


class console_tabs(nodes.container):
    """The tabs of one console; ``group`` names them, unique in the page.

    Builders other than HTML show it, and its tabs, as plain containers.
    """


class console_tab(nodes.container):
    """One tab of a console: ``label`` names the platform, the children are
    the block it shows."""


def visit_console_tabs_html(translator, node):
    translator.body.append('<div class="tab-set">\n')


def depart_console_tabs_html(translator, node):
    translator.body.append("</div>\n")


def visit_console_tab_html(translator, node):
    # A radio button per tab, all of a console in one group: the browser
    # lets the reader choose with a click or with the arrow keys, and the
    # style sheet shows the block after the chosen button's label.
    group = node.parent["group"]
    number = node.parent.index(node) + 1
    button = html.escape(f"{group}-{number}")
    checked = ' checked="checked"' if number == 1 else ""
    translator.body.append(
        f'<input class="tab-input" id="{button}" name="{html.escape(group)}"'
        f' type="radio"{checked} />'
        f'<label class="tab-label" for="{button}">'
        f"{html.escape(node['label'], quote=False)}</label>"
        '<div class="tab-content">\n'
    )


def depart_console_tab_html(translator, node):
    translator.body.append("</div>\n")


class ConsoleDirective(SphinxDirective):
    """A shell session, shown for Linux/macOS and for Windows.

    With ``:server:``, the session runs on a Linux server (systemd, apt,
    PostgreSQL's tools): it is shown once, in a tab of its own, and no
    Windows version is made.
    """

    has_content = True
    required_arguments = 0
    optional_arguments = 0
    option_spec = {
        "caption": directives.unchanged_required,
        "server": directives.flag,
    }

    def run(self):
        self.assert_has_content()
        unix_text = "\n".join(self.content)
        caption = self.options.get("caption")

        console = nodes.container("", classes=["console-block"])
        self.set_source_info(console)
        tabs = console_tabs(
            "", group=f"console-{self.env.new_serialno('console-tabs')}"
        )
        self.set_source_info(tabs)
        console += tabs

        if "server" in self.options:
            variants = [(SERVER_LABEL, "console", unix_text)]
        else:
            variants = [
                (UNIX_LABEL, "console", unix_text),
                (WINDOWS_LABEL, "doscon", to_windows(unix_text)),
            ]
        for label, language, text in variants:
            block = nodes.literal_block(text, text, language=language)
            self.set_source_info(block)
            tab = console_tab("", label=label)
            self.set_source_info(tab)
            tab += container_wrapper(self, block, caption) if caption else block
            tabs += tab
        return [console]


def add_tabs_assets(app):
    """Copy the tabs' style sheet and script with the static files, unless
    the site's ``html_static_path`` holds their folder already."""
    confdir = Path(app.confdir)
    static = {(confdir / path).resolve() for path in app.config.html_static_path}
    if STATIC_DIR not in static:
        app.config.html_static_path.append(str(STATIC_DIR))


# -- django-admin commands -----------------------------------------------------


def parse_django_admin(env, signature, signode):
    """``.. django-admin:: migrate [app_label]`` defines ``migrate``."""
    command = signature.split()[0]
    env.ref_context["std:program"] = command
    shown = f"django-admin {signature}"
    signode += addnodes.desc_name(shown, shown)
    return command


def setup(app):
    for role, (objtype, index) in CROSSREF_TYPES.items():
        app.add_crossref_type(directivename=objtype, rolename=role, indextemplate=index)
    app.add_object_type(
        directivename=DJADMIN_TYPE,
        rolename="djadmin",
        indextemplate="pair: %s; django-admin command",
        parse_node=parse_django_admin,
    )
    app.add_directive("console", ConsoleDirective)
    app.add_node(console_tabs, html=(visit_console_tabs_html, depart_console_tabs_html))
    app.add_node(console_tab, html=(visit_console_tab_html, depart_console_tab_html))
    app.connect("builder-inited", add_tabs_assets)
    app.add_css_file(TABS_CSS)
    app.add_js_file(TABS_JS)
    return {
        "version": __version__,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
