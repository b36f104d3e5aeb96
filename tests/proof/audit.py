"""The audit's rules: what makes a code block of a part page proven.

A block is proven when it is one of the four kinds of
:mod:`proof.blocks` and, for its kind:

- included: the file is in the stage of the same part, and the caption names
  it as the reader sees it (its path inside the project);
- illustrative: it parses, where a parser for its language exists;
- pycon and console: the replay runs them (``test_parts.py``).

The appendix pages are audited too (*part* is None for them). Nothing
replays their sessions, so a pycon or console block there is unproven; an
included file may come from any stage; and the message blocks of the errors
page (kind ``error-message``) are proven by ``test_appendix_errors.py``,
which fails for a block without a trigger. The versions appendix's blocks
(kind ``variant``) are made from tutorial_project/variants/rules.toml by
the code that writes the variants the release passes run.
"""

import ast
import configparser
import json
import tomllib

import yaml

from .blocks import ERROR_MESSAGE, VARIANT
from .errors import ERRORS_DOC

VERSIONS_DOC = "appendix/versions"

# Where test_site.py leaves the per-part counts for the run's summary.
from .report import AUDIT_REPORT  # noqa: E402, F401


def problems_of(block, part):
    if block.kind == "unclassified":
        yield (
            f"{block.place}: a {block.language or 'plain'} block that nothing "
            "proves: include it from the stage, make it a pycon session or a "
            "console block, or mark it illustrative with a reason"
        )
    elif block.kind == "illustrative":
        if problem := syntax_problem(block.language, block.text):
            yield (
                f"{block.place}: this illustrative {block.language} block "
                f"does not parse: {problem}"
            )
    elif block.kind == ERROR_MESSAGE:
        if block.docname != ERRORS_DOC:
            yield (
                f"{block.place}: only the blocks of {ERRORS_DOC}.txt are "
                "proven as error messages"
            )
    elif block.kind == VARIANT:
        if block.docname != VERSIONS_DOC:
            yield (
                f"{block.place}: only the blocks of {VERSIONS_DOC}.txt are "
                "made from the variants' rules"
            )
    elif part is None and block.kind in ("pycon", "console"):
        yield (
            f"{block.place}: nothing replays the {block.kind} blocks of an "
            "appendix page: include the file from a stage, or mark the block "
            "illustrative with a reason"
        )
    elif block.kind == "include":
        stage = block.stage
        if stage is None:
            yield f"{block.place}: includes {block.included}, which is not in a stage"
            return
        number, relative = stage
        if part is not None and number != part:
            yield (
                f"{block.place}: part {part:02d} includes a file of "
                f"stage{number:02d}; it must show stage{part:02d}"
            )
        if block.caption != relative.as_posix():
            yield (
                f"{block.place}: the caption must name the file as the reader "
                f"sees it: {relative.as_posix()!r}, not {block.caption!r}"
            )


def syntax_problem(language, text):
    """Parse an illustrative block where a parser exists; None when it parses."""
    parsers = {
        "python": ast.parse,
        "json": json.loads,
        "toml": tomllib.loads,
        "yaml": yaml.safe_load,
        # systemd units and other ini files repeat keys; strict=False allows it.
        "ini": lambda t: configparser.ConfigParser(
            strict=False, interpolation=None
        ).read_string(t),
    }
    parse = parsers.get(language)
    if parse is None:
        return None
    try:
        parse(text)
    except Exception as error:  # each parser raises its own error class
        return f"{type(error).__name__}: {error}"
    return None
