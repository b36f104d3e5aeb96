"""tools/django_docs.py: the export of the parts into Django's docs tree.

Django's own checks of the exported tree (build, lint, black, spelling) run
in ``make django-docs-check`` (tools/django_docs_check.py); these tests prove
the transformation itself, fast and without Django's sources: what the
reader sees in a code block is the stage's code, none of this site's markup
is left, and the patch applies.
"""

import ast
import io
import re
import subprocess
import sys
import textwrap
import tokenize

import pytest

from proof.paths import ROOT, stage_dir

sys.path.insert(0, str(ROOT / "tools"))
import django_docs  # noqa: E402

PARTS = django_docs.parts()


@pytest.fixture(scope="module")
def exported():
    return {int(page.stem[4:]): django_docs.export_page(page) for page in PARTS}


def code_blocks(text):
    """(caption, language, lines) of each code-block of an exported page."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = re.fullmatch(r"(\s*)\.\. code-block:: (\S+)", line)
        if not match:
            continue
        directive = django_docs.read_directive(lines, index)
        caption = directive.options.get("caption", "")
        yield caption.strip("`"), match.group(2), directive.content


def includes(page):
    """(caption, the text Sphinx shows, file) of each literalinclude."""
    lines = page.read_text().splitlines()
    for index, line in enumerate(lines):
        if line.startswith(".. literalinclude::"):
            directive = django_docs.read_directive(lines, index)
            text, path = django_docs.included_text(page, directive)
            yield directive.options.get("caption", ""), text, path


SKIPPED = {
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.COMMENT,
    tokenize.ENDMARKER,
}


def tokens(text):
    """The code's tokens, layout and quotes aside (black changes only those)."""
    kept = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in SKIPPED:
                continue
            value = token.string
            if token.type == tokenize.STRING:
                value = repr(ast.literal_eval(value))
            kept.append(value)
    except tokenize.TokenError:
        pass  # a snippet that stops inside brackets: its tokens so far
    # black adds a comma after the last item of a list it splits.
    closing = (["]"], [")"], ["}"])
    return [
        token
        for i, token in enumerate(kept)
        if not (token == "," and kept[i + 1 : i + 2] in closing)
    ]


def same_code(shown, original):
    """The exported block is the stage's code: same AST, or same tokens."""
    if shown.rstrip().endswith("...") and not original.rstrip().endswith("..."):
        shown = shown.rstrip()[:-3]  # the body the export gives a partial def
    try:
        return ast.dump(ast.parse(shown)) == ast.dump(ast.parse(original))
    except SyntaxError:
        return tokens(shown) == tokens(original)


def test_every_part_exports(exported):
    assert sorted(exported) == list(range(len(PARTS)))
    assert all(text.startswith("=") for text in exported.values())


def test_every_file_shown_is_the_stages_code(exported):
    checked = 0
    for page in PARTS:
        number = int(page.stem[4:])
        blocks = [
            (caption, language, "\n".join(content))
            for caption, language, content in code_blocks(exported[number])
        ]
        for caption, original, path in includes(page):
            position = next(
                (i for i, block in enumerate(blocks) if block[0] == caption), None
            )
            assert position is not None, f"part {number}: no {caption} block"
            _, language, shown = blocks.pop(position)
            assert path.is_relative_to(stage_dir(number)), path
            if language == "python":
                assert same_code(shown, original), (
                    f"part {number}: the {caption} block is not the stage's "
                    f"code:\n{shown}\n--- the stage has:\n{original}"
                )
            else:
                assert shown == original.rstrip("\n"), f"part {number}: {caption}"
            checked += 1
    assert checked > 60, checked


def test_a_changed_snippet_is_caught():
    original = "def f(a):\n    return {'x': a}\n"
    assert same_code('def f(a):\n    return {"x": a}', original)
    assert not same_code('def f(a):\n    return {"x": b}', original)
    partial = "TEMPLATES = [\n    {\n        'DIRS': [BASE_DIR],"
    assert same_code('TEMPLATES = [\n    {\n        "DIRS": [BASE_DIR],', partial)
    assert not same_code('TEMPLATES = [\n    {\n        "DIRS": [ROOT],', partial)


def test_none_of_the_sites_markup_is_left(exported):
    leftovers = re.compile(
        r"^\s*\.\. (stage|reader-action|illustrative|literalinclude|only|include)::"
        r"|^\s*:(terminal|server|reason|pyobject|start-at|end-before|dedent):"
        r"|`~?(django|python):|<(django|python):|:doc:`(?!/)[^`<]*`"
        r"|:doc:`[^`]*<(?!/)[^>]*>`",
        re.M,
    )
    for number, text in exported.items():
        found = [m.group(0) for m in leftovers.finditer(text)]
        assert not found, f"part {number}: {found}"


def test_captions_are_literals_as_django_writes_them(exported):
    captions = [
        caption
        for text in exported.values()
        for line in text.splitlines()
        if (caption := line.strip()).startswith(":caption:")
    ]
    assert captions
    files = [c for c in captions if " " not in c.split(":caption:")[1].strip()]
    assert all(re.fullmatch(r":caption: ``[^`]+``", c) for c in files), files


def test_parts_link_each_other_under_their_new_names(exported):
    text = exported[0]
    assert ":doc:`part 1 </intro/tasks-tutorial01>`" in text
    assert ":doc:`/intro/tutorial01`" in text


def test_site_only_content_is_left_out(exported):
    text = exported[0]
    assert "How to use this tutorial" not in text
    assert "Start from a later part" not in text
    assert "appendix" not in text.lower()
    assert "every part builds on the project as the previous part" in text


def page(tmp_path, text):
    path = tmp_path / "part09.txt"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_link_to_a_page_django_lacks_names_page_and_line(tmp_path, monkeypatch):
    monkeypatch.setattr(django_docs, "ROOT", tmp_path)
    path = page(tmp_path, "Title\n=====\n\nRead\n:doc:`/appendix/errors`.\n")
    with pytest.raises(django_docs.ExportError, match=r"part09\.txt:5: :doc:"):
        django_docs.export_page(path)


def test_an_unknown_directive_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(django_docs, "ROOT", tmp_path)
    path = page(tmp_path, "Title\n=====\n\n.. mystery:: x\n\n    y\n")
    with pytest.raises(django_docs.ExportError, match=r"part09\.txt:4: .*'mystery'"):
        django_docs.export_page(path)


def test_a_site_only_section_ends_at_the_next_section_of_its_level(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(django_docs, "ROOT", tmp_path)
    path = page(
        tmp_path,
        f"""\
        Title
        =====

        Kept.

        {django_docs.SITE_ONLY_SECTION}

        Gone
        ----

        Gone too.

        Deeper
        ~~~~~~

        Also gone.

        Next
        ----

        Kept again.
        """,
    )
    text = django_docs.export_page(path)
    assert "Gone" not in text and "Deeper" not in text
    assert "Kept." in text and "Next\n----\n\nKept again." in text


def fake_docs(folder):
    docs = folder / "docs"
    (docs / "intro" / "_images").mkdir(parents=True)
    (docs / "conf.py").write_text("project = 'Django'\n")
    (docs / "spelling_wordlist").write_text("accessor\nMySQL\nzone\n")
    (docs / "intro" / "index.txt").write_text(
        ".. toctree::\n   :maxdepth: 1\n\n   tutorial07\n   tutorial08\n   whatsnext\n"
    )
    return docs


def test_the_patch_applies_to_a_clean_tree(tmp_path):
    docs = fake_docs(tmp_path / "exported")
    patch = tmp_path / "tasks.patch"
    written = django_docs.export(docs, patch)
    assert [p.name for p in written] == [
        f"tasks-tutorial{n:02d}.txt" for n in range(len(PARTS))
    ]
    index = (docs / "intro" / "index.txt").read_text()
    assert "   tutorial08\n   tasks-tutorial00\n" in index
    clean = fake_docs(tmp_path / "clean").parent
    subprocess.run(["git", "init", "-q"], cwd=clean, check=True)
    done = subprocess.run(
        ["git", "apply", str(patch)], cwd=clean, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    for path in written:
        relative = path.relative_to(docs.parent)
        assert (clean / relative).read_text() == path.read_text()
    words = (clean / "docs" / "spelling_wordlist").read_text().splitlines()
    assert words == [
        "accessor",
        "Mailpit",
        "MySQL",
        "pytest",
        "systemd",
        "Xeon",
        "zone",
    ]
    images = sorted(p.name for p in (clean / "docs" / "intro" / "_images").iterdir())
    assert images == sorted(p.name for p in django_docs.IMAGES.iterdir())


def test_a_folder_that_isnt_djangos_docs_is_refused(tmp_path):
    with pytest.raises(django_docs.ExportError, match="not the docs folder"):
        django_docs.export(tmp_path)
