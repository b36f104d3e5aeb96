"""Every code block of the built pages, in page order, with file and line.

The blocks are read from the doctrees of the proof build, so they are
exactly what the site shows (after includes, ``:lines:`` and the rest).
``docs/_ext/tutorial_markup.py`` stamps each block with a
``proof_kind``; this module turns the doctree into :class:`Block` objects.
"""

import pickle
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from docutils import nodes

from .paths import DOCS, PART_DOC, STAGES, where

KINDS = ("include", "pycon", "console", "illustrative")
# Kinds of the appendix pages alone: the message blocks of the errors page,
# which tests/test_appendix_errors.py proves.
ERROR_MESSAGE = "error-message"
# And the blocks the versions appendix makes from the variants' rules
# (docs/_ext/variant_pages.py), which the release passes run.
VARIANT = "variant"
APPENDIX_KINDS = (ERROR_MESSAGE, VARIANT)
# Not a code block: a step the reader takes in the browser (never shown).
ACTION = "action"


@dataclass
class Block:
    docname: str
    source: str  # the page's source file
    line: int
    kind: str  # one of KINDS, or "unclassified"
    language: str
    text: str
    caption: str = ""
    included: Path | None = None  # the file a literalinclude shows
    attributes: dict = field(default_factory=dict)

    @property
    def place(self):
        return where(self.source, self.line)

    @property
    def stage(self):
        """(stage number, path inside the stage) of an included file."""
        if self.included is None:
            return None
        try:
            relative = self.included.resolve().relative_to(STAGES.resolve())
        except ValueError:
            return None
        match = re.fullmatch(r"stage(\d\d)", relative.parts[0])
        if not match:
            return None
        return int(match.group(1)), Path(*relative.parts[1:])


def load_doctree(doctrees, docname):
    # The doctrees hold nodes of the site's own extensions.
    if str(DOCS / "_ext") not in sys.path:
        sys.path.insert(0, str(DOCS / "_ext"))
    with open(Path(doctrees) / f"{docname}.doctree", "rb") as f:
        return pickle.load(f)


def docnames(doctrees):
    root = Path(doctrees)
    return sorted(
        str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.doctree")
    )


def part_docnames(doctrees):
    """{part number: docname} for the numbered part pages."""
    found = {}
    for name in docnames(doctrees):
        if match := PART_DOC.match(name):
            found[int(match.group(1))] = name
    return found


def appendix_docnames(doctrees):
    """The docnames of the appendix pages (docs/appendix/)."""
    return [name for name in docnames(doctrees) if name.startswith("appendix/")]


def _caption(node):
    parent = node.parent
    if isinstance(parent, nodes.container) and "literal-block-wrapper" in parent.get(
        "classes", []
    ):
        for child in parent.children:
            if isinstance(child, nodes.caption):
                return child.astext()
    return ""


def _is_console(node):
    return isinstance(node, nodes.Element) and "console_source" in node.attributes


def _is_action(node):
    return isinstance(node, nodes.Element) and node.get("proof_kind") == ACTION


def _wanted(node):
    return (
        isinstance(node, nodes.literal_block) or _is_console(node) or _is_action(node)
    )


def blocks_of(doctrees, docname):
    """The page's code blocks in the order a reader meets them."""
    tree = load_doctree(doctrees, docname)
    found = []
    consoles = []
    for node in tree.findall(_wanted):
        if any(node is c or _inside(node, c) for c in consoles):
            continue
        if _is_action(node):
            found.append(
                Block(
                    docname=docname,
                    source=node.source or "",
                    line=node.line or 0,
                    kind=ACTION,
                    language="",
                    text=node["action"],
                    attributes=dict(node.attributes),
                )
            )
            continue
        if _is_console(node):
            consoles.append(node)
            found.append(console_block(docname, node))
            continue
        kind = node.get("proof_kind", "unclassified")
        included = None
        if kind == "include":
            included = Path(node["source"])
        found.append(
            Block(
                docname=docname,
                source=node.source or "",
                line=node.line or 0,
                kind=kind if kind in KINDS + APPENDIX_KINDS else "unclassified",
                language=node.get("language", ""),
                text=node.astext(),
                caption=_caption(node),
                included=included,
                attributes=dict(node.attributes),
            )
        )
    return found


def console_block(docname, node):
    """The Block of a ``.. console::`` node of page *docname*."""
    return Block(
        docname=docname,
        source=node.source or "",
        line=node.line or 0,
        kind="console",
        language="console",
        text=node["console_source"],
        caption=node.get("caption", ""),
        attributes=dict(node.attributes),
    )


def _inside(node, ancestor):
    parent = node.parent
    while parent is not None:
        if parent is ancestor:
            return True
        parent = parent.parent
    return False
