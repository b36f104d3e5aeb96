"""Where a reader who starts at part NN (NN >= 2) starts: part 0's recipe.

A reader may skip the parts before the one they want to read. Part 0's
section "Start from a later part" tells them how: unpack the download of the
previous part (the zip that the part's stage box links to) into a folder,
then type the section's console blocks. Some blocks apply only from a given
part on; the paragraph just before such a block starts with
``From part N on``, the words the reader goes by, and the replay goes by the
same words.

The replay of every part after part 1 starts here (see :mod:`replay`), so
each replay proves that the recipe is enough for its part. The replay's pip
stand-in runs in the proof's environment, which holds every package, so it
can't notice a package that the recipe forgets: :func:`missing_installs`
compares what the recipe installs with what the earlier parts install.
"""

import re
import shlex
import zipfile
from dataclasses import replace
from pathlib import Path

from docutils import nodes

from .blocks import blocks_of, console_block, load_doctree, part_docnames
from .paths import BUILD, where

RECIPE_DOC = "tutorial/part00"
RECIPE_SECTION = "start-from-a-later-part"
# The words that limit a block to later parts.
FROM_PART = re.compile(r"From part (\d+) on\b")


class RecipeError(AssertionError):
    pass


def stage_zip(number, html=None):
    """The stage's zip as the site offers it (``_downloads/<hash>/``)."""
    html = Path(html or BUILD / "html")
    found = sorted(html.glob(f"_downloads/*/stage{number:02d}.zip"))
    if len(found) != 1:
        raise RecipeError(
            f"the built site should offer one stage{number:02d}.zip under "
            f"{html / '_downloads'}, not {len(found)}"
        )
    return found[0]


def unpack(archive, folder):
    """Unpack *archive* into *folder*, as a reader's unzip tool does."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(folder)


def _section(tree):
    for section in tree.findall(nodes.section):
        if RECIPE_SECTION in section["ids"]:
            return section
    raise RecipeError(
        f"{RECIPE_DOC} has no section {RECIPE_SECTION!r}, where a reader "
        "learns how to start from a later part"
    )


def _lead_in(node):
    """The text of the paragraph right before *node*, or ``""``."""
    parent = node.parent
    position = parent.index(node)
    for sibling in reversed(parent.children[:position]):
        if isinstance(sibling, nodes.paragraph):
            return sibling.astext()
        if not isinstance(sibling, (nodes.comment, nodes.target)):
            return ""
    return ""


def recipe_blocks(doctrees, part):
    """The console blocks of the recipe that a reader of *part* types."""
    tree = load_doctree(doctrees, RECIPE_DOC)
    section = _section(tree)
    chosen = []
    for node in section.findall(nodes.Element):
        if "console_source" not in node.attributes:
            continue
        limit = FROM_PART.match(_lead_in(node))
        if limit and part < int(limit.group(1)):
            continue
        chosen.append(console_block(RECIPE_DOC, node))
    if not chosen:
        raise RecipeError(
            f"{where(section.source or RECIPE_DOC)}: the section "
            f"{RECIPE_SECTION!r} shows no console block"
        )
    return chosen


def pip_installs(text):
    """The names of the packages that a console block's ``pip install`` asks for."""
    names = set()
    for line in text.splitlines():
        if not line.startswith("$ "):
            continue
        try:
            argv = shlex.split(line[2:])
        except ValueError:
            continue
        if argv[:4] != ["python", "-m", "pip", "install"]:
            continue
        for argument in argv[4:]:
            if not argument.startswith("-"):
                name = re.split(r"[<>=!~\[;@ ]", argument, maxsplit=1)[0]
                names.add(re.sub(r"[-_.]+", "-", name).lower())
    return names


def missing_installs(doctrees, part, recipe):
    """{package: part} for what parts 1 to *part* - 1 install and *recipe* doesn't."""
    installed = set()
    for block in recipe:
        installed |= pip_installs(block.text)
    missing = {}
    for number, docname in sorted(part_docnames(doctrees).items()):
        if not 1 <= number < part:
            continue
        for block in blocks_of(doctrees, docname):
            if block.kind == "console":
                for name in pip_installs(block.text) - installed:
                    missing.setdefault(name, number)
    return missing


# Part 7 sets up the server; a reader who starts a later part sets it up as
# part 7 does, up to the block that starts the workers (part 0 says so).
SERVER_PART = 7
SERVER_TERMINALS = ("server", "site")
WORKERS_STARTED = "systemctl enable --now community-worker@1"


def server_recipe(doctrees, part):
    """Part 7's console blocks on the server, for a reader of a later part.

    They run up to the block that starts the workers, without the reads of
    the journal (which show what part 7's own steps logged).
    """
    if part <= SERVER_PART:
        return []
    docname = f"tutorial/part{SERVER_PART:02d}"
    chosen = []
    for block in blocks_of(doctrees, docname):
        if block.kind != "console":
            continue
        if block.attributes.get("terminal") not in SERVER_TERMINALS:
            continue
        chosen.append(replace(block, text=_without_journal(block.text)))
        if WORKERS_STARTED in block.text:
            return chosen
    raise RecipeError(f"part {SERVER_PART} never shows `{WORKERS_STARTED}`")


def _without_journal(text):
    """A console block's text without its journalctl steps and their output."""
    kept, skipping = [], False
    for line in text.splitlines():
        if line.startswith("$ "):
            skipping = "journalctl" in line
        if not skipping:
            kept.append(line)
    return "\n".join(kept)
