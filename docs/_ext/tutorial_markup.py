"""This site's own markup: what Django's documentation does not have.

Who this is for: the contributors of this tutorial and its proof (the tests
in ``tests/``). Nothing here is part of Django's dialect (that is
``djangodocs_dialect.py``, which this extension loads and extends). A chapter
that moves into Django's docs turns an illustrative block into a
``code-block`` and drops the rest, which the reader never sees.

``.. console::`` with ``:terminal:``
    The ``console`` directive of the dialect, with one more option: which of
    the reader's terminals the session runs in, when the page uses several
    (a shell, a worker, a server). The replay keeps a long-running command
    per terminal. It is not shown; the prose names the terminal.

``.. illustrative:: LANGUAGE``
    A code block that the tests do not run, such as a systemd unit. The
    ``:reason:`` option, which says why, is required and is shown under the
    block. ``:caption:`` is optional.

``.. reader-action:: NAME``
    A step the reader takes in the browser (log in, submit a form), which
    the prose around it describes. It renders nothing; the replay calls
    ``NAME(reader)`` from ``tests/proof/reader_actions/partNN.py``.

Classifying code blocks for the audit
    The test suite reads the pickled doctrees and classifies every
    ``literal_block`` by its ``proof_kind`` attribute:

    ``"console"``
        the Unix block of a ``console`` directive; its outer container
        carries ``proof_kind="console"`` too, ``console_source``, the
        session as written (plus ``caption`` when one was given), and
        ``terminal`` (``"main"`` unless the option says otherwise);
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
    ``"error-message"``
        on the errors appendix (``appendix/errors``), a block whose
        ``:name:`` starts with ``error-``: the message that the test
        triggering the error of that name compares it with;
    unset
        anything else, which the audit reports.

    A ``reader-action`` node carries ``proof_kind="action"`` and ``action``.

    An ``include`` block of ``literalinclude`` also carries ``proof_lines``,
    the line numbers of the file it shows (none for a ``:diff:``), and
    ``proof_emphasized``, the file's line numbers of its emphasized lines,
    so the replay knows which part of the file the reader has seen.

    Every ``literal_block`` also gets ``proof_document``, the name of the
    page it appears on (the console container gets it too). The stamping
    happens on ``doctree-read``, before Sphinx pickles the doctree.
"""

import os

import djangodocs_dialect
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.directives.code import (
    LiteralInclude,
    LiteralIncludeReader,
    container_wrapper,
)
from sphinx.util.docutils import SphinxDirective

__version__ = "1.0"


# -- The console, for the replay -----------------------------------------------


class TutorialConsoleDirective(djangodocs_dialect.ConsoleDirective):
    """The dialect's ``console``, with ``:terminal:`` and stamped for the
    proof."""

    option_spec = {
        **djangodocs_dialect.ConsoleDirective.option_spec,
        "terminal": directives.unchanged_required,
    }

    def run(self):
        [console] = super().run()
        docname = self.env.docname
        console["proof_kind"] = "console"
        console["console_source"] = "\n".join(self.content)
        console["proof_document"] = docname
        if "caption" in self.options:
            console["caption"] = self.options["caption"]
        console["terminal"] = self.options.get("terminal", "main")
        unix, *windows = console.findall(nodes.literal_block)
        unix["proof_kind"] = "console"
        for block in windows:
            block["proof_kind"] = "console-windows"
        return [console]


# -- Blocks the tests do not run -----------------------------------------------


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
    ``name(reader)`` from ``tests/proof/reader_actions/partNN.py``. It renders
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

# The errors appendix, and the start of the names of its message blocks.
ERRORS_PAGE = "appendix/errors"
ERROR_NAME_PREFIX = "error-"


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
        elif docname == ERRORS_PAGE and any(
            name.startswith(ERROR_NAME_PREFIX) for name in node.get("names", ())
        ):
            node["proof_kind"] = "error-message"


def setup(app):
    # The console of the dialect, which this extension extends.
    app.setup_extension("djangodocs_dialect")
    app.add_directive("console", TutorialConsoleDirective, override=True)
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
