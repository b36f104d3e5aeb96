"""The appendix "Django 5.2 LTS and 6.0", written from the variants' rules.

Three directives, each taking a release (``5.2``, ``6.0``):

``.. variant-install:: 5.2``
    The line a reader of that release installs with, instead of part 1's.

``.. variant-changes:: 5.2`` with ``:part: 3``
    What part 3 shows that reads differently on the release: the rules' why,
    and a diff per file of what is new in this part (a difference that an
    earlier part already showed is not repeated).

``.. variant-upgrade:: 5.2``
    The way back: each rule that changes the reader's files, in reverse.

``.. variant-seen:: 5.2``
    The output that reads differently (rules.toml's ``[[seen]]``).

``.. variant-quiet:: 5.2``
    The rules that change every file the same way (links, release numbers),
    which ``variant-changes`` leaves out.

Everything comes from ``docs/_ext/variants.py``, the code that writes the
variants the proof runs, so the page can't drift from them. The literal
blocks carry ``proof_kind="variant"``: the audit knows them as made from
the rules (tests/proof/audit.py).
"""

import difflib

import variants
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective


def _release(directive):
    rules = variants.load()
    directive.env.note_dependency(str(variants.RULES))
    try:
        return rules, rules.release(directive.arguments[0])
    except variants.RuleError as error:
        raise directive.error(str(error)) from None


def _block(text, language, caption=None):
    block = nodes.literal_block(text, text, language=language)
    block["proof_kind"] = "variant"
    if not caption:
        return block
    container = nodes.container(
        "", literal_block=True, classes=["literal-block-wrapper"]
    )
    container += nodes.caption(caption, "", nodes.Text(caption))
    container += block
    return container


def _hunks(before, after):
    """The diff's hunks, each a tuple of its lines, its @@ line first."""
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), n=1, lineterm=""
    )
    found, current = [], None
    for line in list(lines)[2:]:
        if line.startswith("@@"):
            current = []
            found.append(current)
        current.append(line)
    return [tuple(hunk) for hunk in found]


def _changed(hunk):
    """The hunk's added and removed lines, blank ones left out."""
    return [line for line in hunk[1:] if line[:1] in "+-" and line[1:].strip()]


def _differences(number, version, rules):
    """{path: [hunk]} between stage ``number`` and its variant.

    The quiet rules' changes (links, release numbers) are on both sides, so
    the hunks show the others only.
    """
    made = variants.project(number, version, rules)
    quiet = variants.project(
        number, version, rules, only=lambda rule: rule.quiet, check=False
    )
    found = {}
    for path, data in made.files.items():
        try:
            after = data.decode()
            before = quiet.files[path].decode() if path in quiet.files else ""
        except UnicodeDecodeError:
            continue
        if before != after:
            found[path] = _hunks(before, after)
    return found, made


class InstallDirective(SphinxDirective):
    required_arguments = 1

    def run(self):
        _, release = _release(self)
        line = f"$ python -m pip install {release.install}"
        return [_block(line, "console")]


class ChangesDirective(SphinxDirective):
    required_arguments = 1
    option_spec = {"part": directives.positive_int}

    def run(self):
        rules, release = _release(self)
        number = self.options.get("part")
        if not number:
            raise self.error('"variant-changes" needs the :part: option')
        for stage in (number, number - 1):
            folder = variants.STAGES / f"stage{stage:02d}"
            if folder.is_dir():
                for name in variants.stage_files(folder):
                    self.env.note_dependency(str(folder / name))
        now, made = _differences(number, release.version, rules)
        before, before_made = {}, None
        if (variants.STAGES / f"stage{number - 1:02d}").is_dir():
            before, before_made = _differences(number - 1, release.version, rules)
        new = {}
        for path, hunks in now.items():
            # A hunk is new when it changes a line no earlier part changed:
            # the same difference with other lines around it is no news.
            earlier = {line for hunk in before.get(path, ()) for line in _changed(hunk)}
            fresh = [hunk for hunk in hunks if set(_changed(hunk)) - earlier]
            if fresh:
                new[path] = fresh
        if not new:
            paragraph = nodes.paragraph()
            paragraph += nodes.Text(
                f"Nothing that part {number} adds reads differently on {release.title}."
            )
            return [paragraph]
        why = nodes.bullet_list()
        earlier = set()
        if before_made is not None:
            earlier = {(c.rule.id, c.path, c.count) for c in before_made.changes}
        listed = set()
        for change in made.changes:
            if change.rule.quiet or change.path not in new:
                continue
            if (change.rule.id, change.path, change.count) in earlier:
                continue
            if change.rule.id not in listed:
                listed.add(change.rule.id)
                item = nodes.list_item()
                item += nodes.paragraph(change.rule.why, change.rule.why)
                why += item
        result = [why] if len(why) else []
        for path, hunks in new.items():
            text = "\n".join("\n".join(hunk) for hunk in hunks)
            result.append(_block(text, "diff", caption=path))
        return result


class UpgradeDirective(SphinxDirective):
    required_arguments = 1

    def run(self):
        rules, release = _release(self)
        steps = nodes.enumerated_list()
        for rule in rules.for_release(release.version):
            if all(pattern.startswith("tests/") for pattern in rule.files):
                continue
            item = nodes.list_item()
            paragraph = nodes.paragraph()
            paragraph += nodes.Text("In ")
            for index, pattern in enumerate(rule.files):
                if index:
                    paragraph += nodes.Text(", ")
                paragraph += nodes.literal(pattern, pattern)
            paragraph += nodes.Text(f": {rule.why}")
            item += paragraph
            if rule.kind == "replace":
                back = "\n".join(
                    difflib.unified_diff(
                        rule.text(rule.new, release).strip("\n").splitlines(),
                        rule.old.strip("\n").splitlines(),
                        lineterm="",
                        n=100,
                    )
                ).split("\n", 3)[-1]
                item += _block(back, "diff")
            elif rule.kind == "pattern":
                back = nodes.paragraph()
                back += nodes.Text(
                    "Wherever it applies, write the lines as the part pages show them."
                )
                item += back
            else:
                back = nodes.paragraph()
                back += nodes.Text("Remove the file; Django 6.1 doesn't need it.")
                item += back
            steps += item
        return [steps]


class QuietDirective(SphinxDirective):
    """``.. variant-quiet:: 5.2``: the quiet rules, once for every part."""

    required_arguments = 1

    def run(self):
        rules, release = _release(self)
        found = nodes.bullet_list()
        for rule in rules.for_release(release.version):
            if rule.quiet:
                item = nodes.list_item()
                item += nodes.paragraph(rule.why, rule.why)
                found += item
        return [found]


class SeenDirective(SphinxDirective):
    required_arguments = 1

    def run(self):
        rules, release = _release(self)
        found = nodes.bullet_list()
        for entry in rules.seen:
            if release.version in entry.releases:
                item = nodes.list_item()
                item += nodes.paragraph(entry.why, entry.why)
                found += item
        if not len(found):
            paragraph = nodes.paragraph()
            paragraph += nodes.Text(
                f"The output the pages show reads the same on {release.title}."
            )
            return [paragraph]
        return [found]


def setup(app):
    app.add_directive("variant-install", InstallDirective)
    app.add_directive("variant-changes", ChangesDirective)
    app.add_directive("variant-upgrade", UpgradeDirective)
    app.add_directive("variant-seen", SeenDirective)
    app.add_directive("variant-quiet", QuietDirective)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
