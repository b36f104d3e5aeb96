"""The tutorial as a patch for Django's own documentation.

    python tools/django_docs.py export [DJANGO_DOCS] [--patch FILE]
    python tools/django_docs.py check [DJANGO_DOCS]

``export`` writes parts 0 to 8 into a Django docs tree as
``docs/intro/tasks-tutorialNN.txt``, next to the polls tutorial's
``tutorialNN.txt``, adds them to ``intro/index.txt``'s table of contents,
copies their images into ``intro/_images/``, and writes the change as a
patch that ``git apply`` takes in a Django checkout. DJANGO_DOCS is a
Django checkout (the folder holding ``docs/``); without it, the docs of
Django's source distribution, unpacked into the build folder
(tools/django_docs_check.py gets it from the package index).

The pages become Django's markup:

- an included stage file becomes a ``code-block`` of its text, taken from
  the stage exactly as Sphinx's ``literalinclude`` takes it, with the file's
  name as caption, in a literal as Django writes captions;
- ``illustrative`` blocks become plain ``code-block`` (or ``console``)
  blocks; a console of the server (``:server:``) becomes a
  ``code-block:: console`` (Django's ``console`` would add a Windows tab);
  the ``:terminal:`` option goes;
- the steps the reader takes in a browser (``reader-action``) and the stage
  box (``stage``) have no place in Django's docs: they go, and so does
  every ``.. only:: tutorial_site`` block, which holds the sentences about
  them; an ``.. only:: django_docs`` block is kept without its directive;
- references lose their intersphinx prefix (``django:``, ``python:``),
  :doc: targets become absolute, and the parts link each other under their
  new names. A link to a page the export doesn't carry (the appendices, the
  project pages) is an error naming the page and line: put the sentence in
  an ``only:: tutorial_site`` block.

:func:`check` (``make django-docs-check``) exports into a copy of the docs
and runs Django's build, lint, ``make black`` and spelling check on it
(tools/django_docs_check.py); tests/checker/test_django_docs.py proves the
transformation itself (every inlined snippet is the stage's code).
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ROOT / "docs" / "tutorial"
IMAGES = PARTS / "_images"
# Where the parts go in Django's docs: docs/intro/, beside the polls
# tutorial, named like its parts.
TARGET = "intro"
NAME = "tasks-tutorial{number:02d}"
# The table of contents the parts join, and the entry they follow.
INDEX = "intro/index.txt"
AFTER = "tutorial08"

# Real words the parts use that Django's spelling word list lacks: the
# export adds them to docs/spelling_wordlist (make spelling).
WORDS = ("Mailpit", "pytest", "systemd", "Xeon")
WORDLIST = "spelling_wordlist"

# Sphinx tags: content for this site alone, and for Django's docs alone.
SITE_ONLY = "tutorial_site"
DJANGO_ONLY = "django_docs"

DIRECTIVE = re.compile(r"^(?P<indent> *)\.\. (?P<name>[\w-]+)::(?: (?P<argument>.*))?$")
OPTION = re.compile(r"^(?P<indent> +):(?P<name>[\w-]+):(?: (?P<value>.*))?$")


class ExportError(Exception):
    """A page the export can't carry into Django's docs as written."""


@dataclass
class Directive:
    start: int  # index of the ".. name::" line
    end: int  # index after its last line
    indent: str
    name: str
    argument: str
    options: dict  # name -> value (continuation lines joined with spaces)
    content: list  # the content's lines, dedented
    raw: list  # every line of it, as written


def read_directive(lines, start):
    match = DIRECTIVE.match(lines[start])
    indent = match["indent"]
    inner = None
    options, content = {}, []
    index = start + 1
    last_option = None
    # Options: the lines right after, indented, each ":name: value".
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            break
        option = OPTION.match(line)
        if option and len(option["indent"]) > len(indent):
            inner = inner or option["indent"]
            last_option = option["name"]
            options[last_option] = (option["value"] or "").strip()
            index += 1
            continue
        if (
            last_option
            and line.startswith(indent + " ")
            and len(line) - len(line.lstrip()) > len(inner or "")
        ):
            options[last_option] += " " + line.strip()
            index += 1
            continue
        break
    # Content: the indented block after (blank lines inside it included).
    body = []
    while index < len(lines):
        line = lines[index]
        if line.strip() and not line.startswith(indent + " "):
            break
        body.append(line)
        index += 1
    while body and not body[-1].strip():
        body.pop()
        index -= 1
    while body and not body[0].strip():
        body.pop(0)
    if body:
        width = min(len(line) - len(line.lstrip()) for line in body if line.strip())
        content = [line[width:] if line.strip() else "" for line in body]
    return Directive(
        start,
        index,
        indent,
        match["name"],
        match["argument"] or "",
        options,
        content,
        lines[start:index],
    )


def included_text(page, directive):
    """The text Sphinx's literalinclude shows for this directive."""
    from sphinx.config import Config
    from sphinx.directives.code import LiteralIncludeReader

    path = (page.parent / directive.argument).resolve()
    if not path.is_file():
        raise ExportError(f"{where(page, directive)}: no file {directive.argument}")
    options = {}
    for name, value in directive.options.items():
        if name in ("caption", "emphasize-lines", "language", "name", "class"):
            continue
        options[name] = int(value) if name in ("dedent", "lineno-start") else value
    config = Config({}, {})
    config.source_encoding = "utf-8-sig"
    text, _ = LiteralIncludeReader(path, options, config).read()
    return text.rstrip("\n"), path


LANGUAGES = {".py": "python", ".html": "html+django", ".txt": "text"}


def where(page, directive_or_line):
    line = getattr(directive_or_line, "start", directive_or_line) + 1
    return f"{page.relative_to(ROOT)}:{line}"


def code_block(indent, language, options, content):
    lines = [f"{indent}.. code-block:: {language}"]
    for name, value in options.items():
        lines.append(f"{indent}    :{name}: {value}".rstrip())
    lines.append("")
    lines.extend(f"{indent}    {line}".rstrip() for line in content)
    return lines


def caption(value):
    """A file name as Django's docs caption it: in a literal."""
    value = value.strip()
    if value.startswith("``") or " " in value:
        return value
    return f"``{value}``"


def export_directive(page, directive):
    """The lines that replace a directive in Django's docs (maybe none)."""
    indent, options = directive.indent, directive.options
    name = directive.name
    if name in ("stage", "reader-action"):
        return []
    if name == "only":
        tag = directive.argument.strip()
        if tag == SITE_ONLY:
            return []
        if tag == DJANGO_ONLY:
            return [
                indent + line if line else ""
                for line in export_lines(page, directive.content)
            ]
        raise ExportError(f"{where(page, directive)}: unknown tag {tag!r} of only")
    if name == "literalinclude":
        text, path = included_text(page, directive)
        language = options.get("language") or LANGUAGES.get(path.suffix, "text")
        kept = {"caption": caption(options["caption"])} if "caption" in options else {}
        if "emphasize-lines" in options:
            kept["emphasize-lines"] = options["emphasize-lines"]
        content = text.splitlines()
        if language == "python":
            content = complete(content)
        return code_block(indent, language, kept, content)
    if name == "illustrative":
        language = directive.argument.strip() or "text"
        kept = {k: v for k, v in options.items() if k not in ("reason",)}
        if "caption" in kept:
            kept["caption"] = caption(kept["caption"])
        if language == "console":
            return console(indent, kept, directive.content, server=True)
        return code_block(indent, language, kept, directive.content)
    if name == "console":
        kept = {k: v for k, v in options.items() if k not in ("terminal", "server")}
        return console(indent, kept, directive.content, server="server" in options)
    if name == "code-block":
        kept = dict(options)
        if "caption" in kept:
            kept["caption"] = caption(kept["caption"])
        return code_block(indent, directive.argument.strip(), kept, directive.content)
    if name in ("list-table", "table", "csv-table"):
        # Tables pass as written; their cells' roles take Django's form.
        return export_text(page, directive.raw, directive.start)
    if name == "include":
        # The included text takes the directive's place.
        included = (page.parent / directive.argument.strip()).read_text()
        return [
            indent + line if line else ""
            for line in export_lines(page, included.splitlines())
        ]
    if name in ("admonition", "figure", "image", "note", "warning", "seealso"):
        # The directive's line and options as written (an :alt: text keeps
        # its lines), then its content, exported.
        header = []
        for line in directive.raw:
            if not line.strip():
                break
            header.append(line)
        lines = export_text(page, header, directive.start)
        if directive.content:
            lines.append("")
            lines += [
                f"{indent}    {line}".rstrip()
                for line in export_lines(page, directive.content)
            ]
        return lines
    raise ExportError(
        f"{where(page, directive)}: the export doesn't know the {name!r} directive"
    )


def console(indent, options, content, server):
    """A console block; a server's session has no Windows tab."""
    if server:
        return code_block(indent, "console", options, content)
    lines = [f"{indent}.. console::"]
    lines += [f"{indent}    :{k}: {v}".rstrip() for k, v in options.items()]
    lines.append("")
    lines += [f"{indent}    {line}".rstrip() for line in content]
    return lines


ROLE = re.compile(r":(?P<role>[a-z]+(?::[a-z]+)?):`(?P<body>[^`]+)`")
PART_DOC = re.compile(r"^(?:/tutorial/|\.\./tutorial/)?part(\d\d)$")


def export_role(page, line_number, match):
    role, body = match["role"], match["body"]
    title, target = None, body
    if m := re.fullmatch(r"(?P<title>.*?)\s*<(?P<target>[^<>]+)>", body, re.S):
        title, target = m["title"], m["target"]
    for prefix in ("django:", "python:"):
        if target.startswith(prefix) or target.startswith("~" + prefix):
            target = target.replace(prefix, "", 1)
    if role == "doc":
        if part := PART_DOC.match(target):
            target = f"/{TARGET}/{NAME.format(number=int(part.group(1)))}"
        elif body.startswith(("django:", "django:/")) or "<django:" in body:
            target = "/" + target.lstrip("/")
        else:
            raise ExportError(
                f"{page.relative_to(ROOT)}:{line_number}: :doc:`{body}` links a page "
                "that Django's docs won't have: put the sentence in an "
                f"'.. only:: {SITE_ONLY}' block, with one for Django's docs "
                f"in '.. only:: {DJANGO_ONLY}' if it needs one"
            )
    inner = f"{title} <{target}>" if title is not None else target
    return f":{role}:`{inner}`"


def export_text(page, lines, offset=0):
    """Roles of prose lines in Django's form (a role may span two lines)."""
    text = "\n".join(lines)

    def replace(match):
        number = offset + text.count("\n", 0, match.start()) + 1
        return export_role(page, number, match)

    if not lines:
        return []
    return rewrap(ROLE.sub(replace, text).split("\n"))


WIDTH = 79  # Django's docs/lint.py's line length
LIST_ITEM = re.compile(r"^(\s*)([-*] |\d+\. |#\. )")


def rewrap(lines):
    """Rewrap each paragraph that a longer link target made too wide.

    Only plain paragraphs and list items: their lines share one indentation
    (after a list item's marker). Anything else is left as it is.
    """
    out, paragraph = [], []

    def flush():
        if any(len(line) > WIDTH for line in paragraph):
            out.extend(_rewrapped(paragraph))
        else:
            out.extend(paragraph)
        paragraph.clear()

    for line in lines:
        if not line.strip() or LIST_ITEM.match(line):
            flush()
        if line.strip():
            paragraph.append(line)
        else:
            out.append(line)
    flush()
    return out


def _rewrapped(paragraph):
    import textwrap

    first = paragraph[0]
    marker = LIST_ITEM.match(first)
    indent = len(first) - len(first.lstrip())
    hanging = indent + (len(marker.group(2)) if marker else 0)
    rest = paragraph[1:]
    if any(len(line) - len(line.lstrip()) != hanging for line in rest):
        return paragraph  # not a plain paragraph or list item
    # Directives, tables, line blocks and fields (a role is prose).
    if any(
        line.lstrip().startswith((".. ", "|", "+"))
        or re.match(r"\s*:[\w-]+:(\s|$)", line)
        for line in paragraph
    ):
        return paragraph
    words = " ".join(line.strip() for line in paragraph)
    if marker:
        words = words[len(marker.group(2)) :]
    return textwrap.wrap(
        words,
        width=WIDTH,
        initial_indent=" " * indent + (marker.group(2) if marker else ""),
        subsequent_indent=" " * hanging,
        break_long_words=False,
        break_on_hyphens=False,
    )


def export_lines(page, lines):
    out, index, prose, prose_start = [], 0, [], 0
    while index < len(lines):
        if DIRECTIVE.match(lines[index]):
            out.extend(export_text(page, prose, prose_start))
            prose = []
            directive = read_directive(lines, index)
            replaced = export_directive(page, directive)
            out.extend(replaced)
            index = directive.end
            if not replaced:
                # The blank line before it stays; the one after goes with it.
                while index < len(lines) and not lines[index].strip():
                    index += 1
                if out and out[-1].strip():
                    out.append("")
            prose_start = index
            continue
        prose.append(lines[index])
        index += 1
    out.extend(export_text(page, prose, prose_start))
    return out


# A comment that puts the section after it on this site only (a section
# can't sit inside an ``only`` block).
SITE_ONLY_SECTION = ".. This section is on the tutorial's site only."
# Heading underlines, from the page title's down (WRITING.md's order).
LEVELS = "=-~"


def heading_level(lines, index):
    """The level of the section title at ``lines[index]``, or None."""
    if index + 1 >= len(lines) or not lines[index].strip():
        return None
    underline = lines[index + 1]
    if (
        len(set(underline)) == 1
        and underline[0] in LEVELS
        and len(underline) >= len(lines[index].rstrip())
    ):
        return LEVELS.index(underline[0])
    return None


def drop_site_sections(page, lines):
    out, index = [], 0
    while index < len(lines):
        if lines[index].strip() != SITE_ONLY_SECTION:
            out.append(lines[index])
            index += 1
            continue
        start = index + 1
        while start < len(lines) and not lines[start].strip():
            start += 1
        level = heading_level(lines, start)
        if level is None:
            raise ExportError(
                f"{page.relative_to(ROOT)}:{index + 1}: a section title must "
                "follow the comment that puts it on the site only"
            )
        index = start + 2
        while index < len(lines):
            found = heading_level(lines, index)
            if found is not None and found <= level:
                break
            index += 1
    return out


def export_page(page):
    """The text of a part page in Django's docs, its code as black writes it.

    Django's ``make black`` formats the docs' Python blocks with
    blacken-docs; the export does it first, so the check finds nothing to
    change. The stages keep the quotes Django's startproject writes, and
    their lines were wrapped before a part showed them dedented.
    """
    lines = drop_site_sections(page, page.read_text().splitlines())
    out = export_lines(page, lines)
    return blacken("\n".join(out).rstrip() + "\n", page)


def blacken(text, page):
    import black
    import blacken_docs

    formatted, errors = blacken_docs.format_str(
        text, black.Mode(), rst_literal_blocks=True
    )
    if errors:
        problems = "; ".join(f"line {e.offset}: {e.exc}" for e in errors)
        raise ExportError(
            f"{page.relative_to(ROOT)}: blacken-docs can't read a code block "
            f"of the exported page: {problems}"
        )
    for before, after in zip(emphasized(text), emphasized(formatted), strict=True):
        if [_loose(line) for line in before] != [_loose(line) for line in after]:
            raise ExportError(
                f"{page.relative_to(ROOT)}: black wraps the lines of a block "
                "with :emphasize-lines: differently, so they would mark other "
                f"lines: {before} became {after}"
            )
    return formatted


def emphasized(text):
    """The emphasized lines of each code block of ``text``, in order."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if re.fullmatch(r"\s*\.\. code-block:: \S+", line):
            block = read_directive(lines, index)
            numbers = block.options.get("emphasize-lines")
            if numbers:
                yield [
                    block.content[n - 1] if n <= len(block.content) else None
                    for n in _numbers(numbers)
                ]


def _numbers(ranges):
    found = []
    for part in ranges.split(","):
        first, _, last = part.strip().partition("-")
        found.extend(range(int(first), int(last or first) + 1))
    return found


def _loose(line):
    return None if line is None else re.sub(r"\s+", "", line.replace("'", '"'))


def complete(content):
    """A Python snippet that stops at a ``def ...:`` line, given a body.

    A part may show a function's first lines, the rest unchanged; Python
    (and so blacken-docs) needs a body, and ``...`` reads as "the rest".
    """
    import ast

    text = "\n".join(content)
    try:
        ast.parse(text)
    except SyntaxError:
        last = next((line for line in reversed(content) if line.strip()), "")
        if last.rstrip().endswith(":"):
            indent = len(last) - len(last.lstrip()) + 4
            return [*content, " " * indent + "..."]
    return content


def parts():
    return sorted(PARTS.glob("part[0-9][0-9].txt"))


def export(docs, patch=None):
    """Write the parts into ``docs`` (a Django docs folder); the patch too."""
    docs = Path(docs)
    if not (docs / "conf.py").is_file() or not (docs / INDEX).is_file():
        raise ExportError(f"{docs} is not the docs folder of a Django source tree")
    before = tempfile.mkdtemp(prefix="django-docs-before-")
    shutil.copytree(docs, Path(before) / "docs")
    written = []
    for page in parts():
        number = int(page.stem[4:])
        target = docs / TARGET / f"{NAME.format(number=number)}.txt"
        target.write_text(export_page(page))
        written.append(target)
    for image in sorted(IMAGES.glob("*")):
        shutil.copy2(image, docs / TARGET / "_images" / image.name)
    add_words(docs / WORDLIST, [p.read_text() for p in written])
    index = docs / INDEX
    text = index.read_text()
    entries = "".join(
        f"   {TARGET and NAME.format(number=int(p.stem[4:]))}\n" for p in parts()
    )
    if NAME.format(number=0) not in text:
        text = text.replace(f"   {AFTER}\n", f"   {AFTER}\n{entries}", 1)
        if NAME.format(number=0) not in text:
            raise ExportError(
                f"{index}: no toctree entry {AFTER!r} to add the parts after"
            )
        index.write_text(text)
    if patch:
        Path(patch).write_bytes(diff(Path(before) / "docs", docs))
    shutil.rmtree(before)
    return written


def add_words(wordlist, pages):
    """Add WORDS to Django's word list, each where its order puts it."""
    words = wordlist.read_text().splitlines()
    for word in WORDS:
        if not any(re.search(rf"\b{word}\b", page) for page in pages):
            raise ExportError(
                f"{word!r} is in WORDS, but no exported page uses it: remove it"
            )
        if word in words:
            continue
        place = next(
            (i for i, w in enumerate(words) if w.lower() > word.lower()), len(words)
        )
        words.insert(place, word)
    wordlist.write_text("\n".join(words) + "\n")


def diff(before, after):
    """A git patch of ``after`` against ``before``, paths as docs/...."""
    done = subprocess.run(
        [
            "git",
            "diff",
            "--no-index",
            "--binary",
            "--no-color",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            str(before),
            str(after),
        ],
        capture_output=True,
    )
    if done.returncode not in (0, 1):
        raise ExportError(done.stderr.decode())
    text = done.stdout.decode()
    # git names the two folders; the patch names docs/... as in a checkout.
    for folder in (str(before).lstrip("/"), str(after).lstrip("/")):
        text = text.replace(f"a/{folder}/", "a/docs/").replace(
            f"b/{folder}/", "b/docs/"
        )
        text = text.replace(f" {folder}/", " docs/")
    return text.encode()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("export", "check"))
    parser.add_argument("django", nargs="?", help="a Django checkout")
    parser.add_argument("--patch", help="write the change as a patch to this file")
    arguments = parser.parse_args(argv)
    try:
        import django_docs_check

        if arguments.command == "check":
            docs = Path(arguments.django) / "docs" if arguments.django else None
            return django_docs_check.check_export(
                docs or django_docs_check.django_docs()
            )
        if arguments.django:
            docs = Path(arguments.django) / "docs"
        else:
            # The docs of Django's source distribution, in a copy of their own
            # (the cached download stays pristine, the checks' baseline).
            docs = django_docs_check.pristine_copy(
                django_docs_check.django_docs(),
                django_docs_check.default_cache() / "tree",
            )
        patch = (
            arguments.patch
            or django_docs_check.default_cache() / "tasks-tutorial.patch"
        )
        for path in export(docs, patch):
            print(path)
        print(f"The patch: {patch}")
        return 0
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
