"""tools/django_docs_check.py: the parts of the check that need no Django.

The builds themselves (minutes on Django's whole docs) run in
``make django-docs-check``; these tests prove, fast, how their output is
compared and how ``make black`` becomes a check.
"""

import sys
import textwrap

from proof.paths import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import django_docs_check as check  # noqa: E402


def test_warnings_are_normalized_and_grouped(tmp_path):
    docs = tmp_path / "docs"
    text = textwrap.dedent(f"""\
        {docs}/ref/a.txt:120: WARNING: undefined label: 'x' [ref.ref]
        \x1b[91m{docs}/intro/b.txt:9: ERROR: Error in "console" directive:\x1b[39;49;00m
        unknown option: "terminal".
        {docs}/ref/a.txt:13: WARNING: Include file '{tmp_path}/stage/x.py' not found
        """)
    assert check.parse_warnings(text, docs) == [
        'intro/b.txt:9: ERROR: Error in "console" directive:\n'
        'unknown option: "terminal".',
        "ref/a.txt:13: WARNING: Include file '../stage/x.py' not found",
        "ref/a.txt:120: WARNING: undefined label: 'x' [ref.ref]",
    ]


def test_new_warnings_ignore_moved_lines_but_count_repeats():
    baseline = ["intro/index.txt:8: WARNING: w", "ref/a.txt:3: WARNING: v"]
    exported = [
        "intro/index.txt:9: WARNING: w",  # the same, one line further down
        "ref/a.txt:3: WARNING: v",
        "ref/a.txt:30: WARNING: v",  # a second one
        "intro/tasks-tutorial01.txt:5: ERROR: Unknown directive type",
    ]
    assert check.new_warnings(baseline, exported) == exported[2:]
    assert check.new_warnings(baseline, baseline) == []


def test_black_reports_a_diff_and_a_block_that_does_not_parse(tmp_path):
    docs = tmp_path / "docs"
    (docs / "intro").mkdir(parents=True)
    (docs / "conf.py").write_text("")
    page = docs / "intro" / "page.txt"
    original = textwrap.dedent("""\
        Code:

        .. code-block:: python

            x=dict(a = 1)

        .. code-block:: python

            def f(:
        """)
    page.write_text(original)
    problems = check.black(docs, ["intro/page.txt"])
    assert page.read_text() == original  # only a copy is formatted
    # blacken-docs names the line of the directive
    assert problems[0] == "intro/page.txt:7: code block parse error cannot parse: 1:6"
    assert problems[1].startswith("intro/page.txt: blacken-docs would reformat\n")
    assert "-    x=dict(a = 1)\n+    x = dict(a=1)\n" in problems[1]
    page.write_text("Code:\n\n.. code-block:: python\n\n    x = dict(a=1)\n")
    assert check.black(docs, ["intro/page.txt"]) == []


def test_bad_input_is_named(tmp_path, capsys):
    assert check.main([str(tmp_path / "missing"), "intro/page.txt"]) == 2
    assert "no docs folder at" in capsys.readouterr().err
    (tmp_path / "conf.py").write_text("")
    assert check.main([str(tmp_path), "intro/page.txt"]) == 2
    assert "no file intro/page.txt in" in capsys.readouterr().err
