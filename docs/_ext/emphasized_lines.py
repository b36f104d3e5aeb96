"""Checks of ``:emphasize-lines:`` on ``code-block`` and ``literalinclude``.

The numbers of ``:emphasize-lines:`` count the lines of the block as shown
(for a ``literalinclude``, of the piece its anchors cut out), so a change to
the file or to the anchors can leave them pointing at the wrong lines. Two
mistakes are reported as warnings, which ``make html`` (``-W``) turns into a
failed build, each naming the page and the line of the directive:

- a number past the end of the block (Sphinx warns too, but names the page
  by a wrong path and then leaves the number out);
- a number that points at a blank line: a range such as ``5-8`` where line 7
  is the blank line between two groups of imports, or what is left when a
  reformat moves the lines under the numbers.
"""

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging

logger = logging.getLogger(__name__)

CHECKED_DIRECTIVES = ("code-block", "sourcecode", "literalinclude")


def emphasized_numbers(spec, total):
    """The line numbers (from 1) that *spec* names, for a block of *total*
    lines: ``"1,4-6"``, and open ranges such as ``"8-"`` (to the end)."""
    numbers = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        first, dash, last = part.partition("-")
        if not dash:
            numbers.append(int(first))
            continue
        start = int(first) if first.strip() else 1
        end = int(last) if last.strip() else total
        numbers.extend(range(start, end + 1))
    return numbers


def _warn(block, message, *args):
    logger.warning(
        ":emphasize-lines: " + message,
        *args,
        location=block,
        type="emphasize-lines",
    )


def check_block(block, spec):
    """Warn when *spec* names a line past the end of *block*."""
    lines = block.astext().splitlines()
    try:
        numbers = emphasized_numbers(spec, len(lines))
    except ValueError:
        return  # Sphinx reports a spec it cannot read.
    past = [n for n in numbers if n > len(lines)]
    if past:
        _warn(
            block,
            "%r names line %d, past the end of the block (%d lines)",
            spec,
            past[0],
            len(lines),
        )


def blank_emphasized_lines(block):
    """The emphasized line numbers (from 1) of *block* whose line is blank."""
    emphasized = block.get("highlight_args", {}).get("hl_lines") or []
    lines = block.astext().splitlines()
    return [n for n in emphasized if 0 < n <= len(lines) and not lines[n - 1].strip()]


def check_blank_lines(app, doctree):
    for block in doctree.findall(nodes.literal_block):
        blank = blank_emphasized_lines(block)
        if blank:
            _warn(
                block,
                "highlights blank line%s %s of the block",
                "s" if len(blank) > 1 else "",
                ", ".join(map(str, blank)),
            )


def _with_range_check(directive_class):
    """A subclass of *directive_class* that checks its numbers' range."""

    class Checked(directive_class):
        def run(self):
            result = super().run()
            spec = self.options.get("emphasize-lines")
            if spec:
                for node in result:
                    for block in node.findall(nodes.literal_block):
                        check_block(block, spec)
            return result

    Checked.__name__ = f"RangeChecked{directive_class.__name__}"
    return Checked


def wrap_directives(app):
    """Wrap the directives as the extensions left them, whatever their order."""
    for name in CHECKED_DIRECTIVES:
        directive_class, _ = directives.directive(name, None, None)
        if directive_class is not None and not directive_class.__name__.startswith(
            "RangeChecked"
        ):
            app.add_directive(name, _with_range_check(directive_class), override=True)


def setup(app):
    app.connect("builder-inited", wrap_directives)
    app.connect("doctree-read", check_blank_lines)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
