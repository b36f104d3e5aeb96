"""The parts of Django's documentation dialect that the tutorial uses.

The chapters are written so that they could move into Django's own docs, so
they use the same markup. This extension provides it, written for this site:

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
    It shows two tabs made of sphinx-inline-tabs nodes, "Linux/macOS" with
    the session as written (highlighted as ``console``) and "Windows" with
    :func:`to_windows` applied to it (highlighted as ``doscon``). An optional
    ``:caption:`` is shown above the block in both tabs.

``.. illustrative:: LANGUAGE``
    A code block that the tests do not run, such as a systemd unit. The
    ``:reason:`` option, which says why, is required and is shown under the
    block. ``:caption:`` is optional.

Classifying code blocks for the audit
    The test suite reads the pickled doctrees and classifies every
    ``literal_block`` by its ``proof_kind`` attribute:

    ``"console"``
        the Unix block of a ``console`` directive; its outer container
        carries ``proof_kind="console"`` too, and ``console_source``, the
        session as written (plus ``caption`` when one was given);
    ``"console-windows"``
        the Windows block of a ``console`` directive, derived from the other;
    ``"illustrative"``
        an ``illustrative`` block (its reason is in ``proof_reason``);
    ``"include"``
        a block showing a file: ``literalinclude`` (and docutils' ``include``
        with ``:literal:`` or ``:code:``) store the shown file's path in the
        node's ``source`` *attribute*, ``node["source"]``, which differs from
        the page's path, while ``code-block`` only sets the Python attribute
        ``node.source``; the file is then ``node["source"]``;
    ``"pycon"``
        a block whose language is ``pycon`` (an interactive Python session);
    unset
        anything else, which the audit reports.

    An ``include`` block of ``literalinclude`` also carries ``proof_lines``,
    the line numbers of the file it shows (none for a ``:diff:``), and
    ``proof_emphasized``, the file's line numbers of its emphasized lines,
    so the replay knows which part of the file the reader has seen.

    Every ``literal_block`` also gets ``proof_document``, the name of the
    page it appears on (the console container gets it too). The stamping
    happens on ``doctree-read``, before Sphinx pickles the doctree.
"""

import os
import re

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.directives.code import (
    LiteralInclude,
    LiteralIncludeReader,
    container_wrapper,
)
from sphinx.util.docutils import SphinxDirective
from sphinx_inline_tabs._impl import TabContainer

__version__ = "1.0"

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


# -- Directives ----------------------------------------------------------------


class ConsoleDirective(SphinxDirective):
    """A shell session, shown for Linux/macOS and for Windows."""

    has_content = True
    required_arguments = 0
    optional_arguments = 0
    option_spec = {
        "caption": directives.unchanged_required,
        # Which of the reader's terminals this is, when the page uses several
        # (a shell, a worker, a server): the replay keeps a long-running
        # command per terminal. Not shown; the prose names the terminal.
        "terminal": directives.unchanged_required,
    }

    def run(self):
        self.assert_has_content()
        docname = self.env.docname
        unix_text = "\n".join(self.content)
        caption = self.options.get("caption")

        outer = nodes.container(
            "",
            classes=["console-block"],
            proof_kind="console",
            console_source=unix_text,
            proof_document=docname,
        )
        if caption:
            outer["caption"] = caption
        outer["terminal"] = self.options.get("terminal", "main")
        self.set_source_info(outer)

        variants = [
            (UNIX_LABEL, "console", "console", unix_text),
            (WINDOWS_LABEL, "doscon", "console-windows", to_windows(unix_text)),
        ]
        for position, (label, language, kind, text) in enumerate(variants):
            block = nodes.literal_block(
                text,
                text,
                language=language,
                proof_kind=kind,
                proof_document=docname,
            )
            self.set_source_info(block)
            shown = container_wrapper(self, block, caption) if caption else block

            # What sphinx-inline-tabs' "tab" directive builds: the first tab
            # of each console starts a new set, the second joins it.
            tab = TabContainer("", type="tab", new_set=position == 0)
            self.set_source_info(tab)
            tab += nodes.label("", "", nodes.Text(label))
            body = nodes.container("", is_div=True, classes=["tab-content"])
            body += shown
            tab += body
            outer += tab
        return [outer]


class IllustrativeDirective(SphinxDirective):
    """A code block the tests do not run, with the reason why."""

    has_content = True
    required_arguments = 1
    optional_arguments = 0
    option_spec = {
        "caption": directives.unchanged_required,
        "reason": directives.unchanged_required,
    }

    def run(self):
        reason = " ".join(self.options.get("reason", "").split())
        if not reason:
            raise self.error(
                'The "illustrative" directive needs a :reason: option that '
                "tells the reader why the tests do not run this block."
            )
        self.assert_has_content()
        text = "\n".join(self.content)
        block = nodes.literal_block(
            text,
            text,
            language=self.arguments[0],
            proof_kind="illustrative",
            proof_reason=reason,
            proof_document=self.env.docname,
        )
        self.set_source_info(block)

        wrapper = nodes.container("", classes=["illustrative"])
        self.set_source_info(wrapper)
        caption = self.options.get("caption")
        wrapper += container_wrapper(self, block, caption) if caption else block

        reason_nodes, messages = self.state.inline_text(reason, self.lineno)
        note = nodes.paragraph("", "", classes=["illustrative-note"])
        self.set_source_info(note)
        note += nodes.Text("Not run by the tests: ")
        note += reason_nodes
        if not reason.endswith((".", "!", "?")):
            note += nodes.Text(".")
        wrapper += note
        return [wrapper, *messages]


# -- What the reader does outside a terminal ---------------------------------


class reader_action(nodes.General, nodes.Element):
    """A step the reader takes in the browser, for the replay; never shown."""


def skip_node(translator, node):
    raise nodes.SkipNode


class ReaderActionDirective(SphinxDirective):
    """``.. reader-action:: name``: the prose around it tells the reader what
    to do (log in, submit a form); the replay does the same by calling
    ``name(reader)`` from ``tests/stageNN/reader_actions.py``. It renders
    nothing."""

    required_arguments = 1
    has_content = False

    def run(self):
        name = self.arguments[0]
        if not name.isidentifier():
            raise self.error(f"reader-action: {name!r} is not a function name")
        node = reader_action(
            "", action=name, proof_kind="action", proof_document=self.env.docname
        )
        self.set_source_info(node)
        return [node]


# -- Which lines of a file a literalinclude shows ------------------------------


class _NumberedLine(str):
    """A line of an included file that remembers its line number."""

    lineno = 0


class _NumberingReader(LiteralIncludeReader):
    """Sphinx's reader, with each line of the file numbered."""

    def read_file(self, filename, location=None):
        lines = super().read_file(filename, location=location)
        numbered = []
        for number, line in enumerate(lines, start=1):
            line = _NumberedLine(line)
            line.lineno = number
            numbered.append(line)
        return numbered


def shown_line_numbers(filename, options, config):
    """The line numbers (from 1) of *filename* that a literalinclude shows.

    The same selection as Sphinx's (``:pyobject:``, ``:start-at:`` and the
    other start and end options, ``:lines:``), before ``:dedent:``, which
    changes no line's place. None for a ``:diff:``, which shows changes.
    """
    if "diff" in options:
        return None
    reader = _NumberingReader(filename, options, config)
    lines = reader.read_file(filename)
    for select in (
        reader.pyobject_filter,
        reader.start_filter,
        reader.end_filter,
        reader.lines_filter,
    ):
        lines = select(lines)
    return [line.lineno for line in lines]


class NumberedLiteralInclude(LiteralInclude):
    """``literalinclude``, which also stamps the block with ``proof_lines``,
    the line numbers of the file it shows (see :func:`shown_line_numbers`),
    and ``proof_emphasized``, those of its emphasized lines."""

    def run(self):
        result = super().run()
        for node in result:
            for block in node.findall(nodes.literal_block):
                if not block.get("source"):
                    continue
                try:
                    shown = shown_line_numbers(
                        block["source"], self.options, self.config
                    )
                except (OSError, ValueError):
                    continue
                if shown is None:
                    continue
                block["proof_lines"] = shown
                emphasized = block.get("highlight_args", {}).get("hl_lines", [])
                block["proof_emphasized"] = [
                    shown[i - 1] for i in emphasized if 0 < i <= len(shown)
                ]
        return result


# -- Classifying the other blocks ----------------------------------------------


def classify_literal_blocks(app, doctree):
    """Stamp proof_kind and proof_document on the page's literal blocks."""
    docname = app.env.docname
    page = os.path.normcase(os.path.realpath(app.env.doc2path(docname)))
    for node in doctree.findall(nodes.literal_block):
        node["proof_document"] = docname
        if node.get("proof_kind"):
            continue
        shown_file = node.get("source")
        if shown_file and os.path.normcase(os.path.realpath(shown_file)) != page:
            node["proof_kind"] = "include"
        elif node.get("language") == "pycon":
            node["proof_kind"] = "pycon"


# -- django-admin commands -----------------------------------------------------


def parse_django_admin(env, signature, signode):
    """``.. django-admin:: migrate [app_label]`` defines ``migrate``."""
    command = signature.split()[0]
    env.ref_context["std:program"] = command
    shown = f"django-admin {signature}"
    signode += addnodes.desc_name(shown, shown)
    return command


def setup(app):
    # The tabs of a console are this extension's nodes.
    app.setup_extension("sphinx_inline_tabs")

    for role, (objtype, index) in CROSSREF_TYPES.items():
        app.add_crossref_type(directivename=objtype, rolename=role, indextemplate=index)
    app.add_object_type(
        directivename=DJADMIN_TYPE,
        rolename="djadmin",
        indextemplate="pair: %s; django-admin command",
        parse_node=parse_django_admin,
    )
    app.add_directive("console", ConsoleDirective)
    app.add_directive("literalinclude", NumberedLiteralInclude, override=True)
    app.add_directive("illustrative", IllustrativeDirective)
    app.add_node(
        reader_action,
        **{
            builder: (skip_node, None)
            for builder in ("html", "latex", "text", "man", "texinfo")
        },
    )
    app.add_directive("reader-action", ReaderActionDirective)
    app.connect("doctree-read", classify_literal_blocks)
    return {
        "version": __version__,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
