"""docs/_ext/variants.py: the real rules make every stage's variants, and
the engine's errors name the rule, the file and the line to fix.

The first half runs the rules of tutorial_project/variants/rules.toml on
the real stages; the second writes small rules files and stages into a
temporary folder and checks that each mistake is refused with a message
a contributor can act on.
"""

import ast
import re
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))

import variants  # noqa: E402

from proof import paths  # noqa: E402

RULES = variants.load()
VERSIONS = sorted(RULES.releases)
STAGES = variants.stage_numbers()


def text_files(made):
    """The variant's files that are text, decoded."""
    found = {}
    for path, data in made.files.items():
        try:
            found[path] = data.decode()
        except UnicodeDecodeError:
            pass
    return found


def installed_apps(settings):
    """The INSTALLED_APPS list of a settings module's text."""
    (apps,) = [
        node.value
        for node in ast.parse(settings).body
        if isinstance(node, ast.Assign)
        and [target.id for target in node.targets] == ["INSTALLED_APPS"]
    ]
    return ast.literal_eval(apps)


# The real rules ---------------------------------------------------------------


def test_the_releases_are_the_ones_the_tutorial_offers():
    assert VERSIONS == ["5.2", "6.0"]
    assert STAGES == paths.staged_parts()


def test_every_rule_applies():
    assert variants.check_rules() == []


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("number", STAGES)
def test_variant_keeps_no_forbidden_pattern(number, version):
    made = variants.variant(number, version, RULES)  # raises on a leftover
    release = RULES.release(version)
    assert release.forbidden
    for path, content in text_files(made).items():
        for forbidden in release.forbidden:
            assert not re.search(forbidden, content), (path, forbidden)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("number", STAGES)
def test_variant_has_the_stages_files_and_no_other(number, version):
    made = variants.variant(number, version, RULES)
    stage = paths.STAGES / f"stage{number:02d}"
    tests = paths.ROOT / "tests" / f"stage{number:02d}"
    expected = set(variants.stage_files(stage))
    expected |= {f"tests/{path}" for path in variants.stage_files(tests)}
    added = {
        rule.files[0]
        for rule in RULES.for_release(version)
        if rule.add and number >= rule.from_stage
    }
    assert set(made.files) == expected | added
    assert any(path.startswith("tests/") for path in made.files)


def test_stage_1_on_52_uses_the_backport():
    made = variants.variant(1, "5.2", RULES)
    texts = text_files(made)
    for path, content in texts.items():
        assert "django.tasks" not in content, path
    assert "django_tasks" in installed_apps(texts["mysite/settings.py"])


def test_stage_1_on_60_keeps_django_tasks():
    texts = text_files(variants.variant(1, "6.0", RULES))
    assert any("django.tasks" in content for content in texts.values())
    assert "django_tasks" not in installed_apps(texts["mysite/settings.py"])


@pytest.mark.parametrize("version", VERSIONS)
def test_transform_makes_each_file_as_the_variant_has_it(version):
    compared = 0
    for number in STAGES:
        made = text_files(variants.variant(number, version, RULES))
        stage = paths.STAGES / f"stage{number:02d}"
        for path in variants.stage_files(stage):
            original = (stage / path).read_text()
            assert variants.transform(path, original, version, RULES) == made[path], (
                number,
                path,
            )
            compared += original != made[path]
    assert compared  # the rules did change some files


def test_transform_of_new_code():
    code = "from django.tasks import task\n"
    assert variants.transform("testimonials/jobs.py", code, "5.2") == (
        "from django_tasks import task\n"
    )
    assert variants.transform("testimonials/jobs.py", code, "6.0") == code
    # A rule for Python files leaves other files alone.
    assert variants.transform("notes.txt", code, "5.2") == code


def test_seen_shows_the_backports_names():
    line = "django.tasks.exceptions.InvalidTask: django.tasks.base is not"
    assert variants.seen(line, "5.2") == (
        "django_tasks.exceptions.InvalidTaskError: django_tasks.base is not"
    )
    assert variants.seen(line, "6.0") == line


def requirement_sections():
    """requirements.txt's sections, split at blank lines: {title: [lines]}."""
    sections = {}
    for block in paths.REQUIREMENTS.read_text().split("\n\n"):
        lines = block.strip().splitlines()
        if lines and lines[0].startswith("# "):
            sections[lines[0][2:]] = [
                line.split("#")[0].strip() for line in lines if not line.startswith("#")
            ]
    return sections


def test_requirements_of_52():
    made = variants.requirements("5.2")
    djangos = [line for line in made if variants._name(line) == "django"]
    assert len(djangos) == 1
    assert re.fullmatch(r"Django==5\.2\.\d+", djangos[0])
    assert len(made) == len(set(made))
    assert not any("6.1" in line for line in made)
    pinned = {variants._name(pin) for pin in RULES.release("5.2").pins}
    # The tutorial project's and the proof's sections, re-pinned; not the
    # site's tools or the style checks, which need a newer Python.
    sections = requirement_sections()
    kept = sections.pop("The tutorial project (what the reader installs)")
    kept += sections.pop("The proof")
    assert sections  # the left-out ones
    expected = [line for line in kept if variants._name(line) not in pinned]
    assert made == [*RULES.release("5.2").pins, *expected]
    assert "aiosmtpd" in {variants._name(line) for line in made}


# The engine's errors ----------------------------------------------------------

RELEASE = """\
[release."5.2"]
name = "django52"
title = "Django 5.2 LTS"
django = "5.2.19"
install = "Django"
pins = ["Django==5.2.19"]
pythons = {pythons}
forbidden = {forbidden}
"""


def rules_file(tmp_path, rules, forbidden="['\\bdjango\\.tasks\\b']", pythons=None):
    """tmp_path/rules.toml: one release, 5.2, and ``rules``; its path and
    the line of each ``[[rule]]``, in order."""
    pythons = pythons or ["3.11"]
    text = RELEASE.format(forbidden=forbidden, pythons=pythons)
    text += "\n" + textwrap.dedent(rules)
    path = tmp_path / "rules.toml"
    path.write_text(text)
    starts = [
        number for number, line in enumerate(text.splitlines(), 1) if line == "[[rule]]"
    ]
    return path, starts


def fake_stage(tmp_path, files, tests=None):
    """A stage 1 in tmp_path/stages, and its tests in tmp_path/tests."""
    for folder, contents in (("stages", files), ("tests", tests or {})):
        for path, text in contents.items():
            target = tmp_path / folder / "stage01" / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    return tmp_path / "stages", tmp_path / "tests"


def test_fake_stage_variant(tmp_path):
    path, _ = rules_file(
        tmp_path,
        """
        [[rule]]
        id = "backport"
        releases = ["5.2"]
        files = ["**/*.py"]
        why = "The backport."
        pattern = "\\\\bdjango\\\\.tasks\\\\b"
        new = "django_tasks"
        """,
    )
    stages, tests = fake_stage(
        tmp_path,
        {"mysite/settings.py": "import django.tasks\n"},
        {"test_tasks.py": "from django.tasks import task\n"},
    )
    made = variants.variant(1, "5.2", variants.load(path), stages, tests)
    assert made.files == {
        "mysite/settings.py": b"import django_tasks\n",
        "tests/test_tasks.py": b"from django_tasks import task\n",
    }
    assert [(c.rule.id, c.path, c.count) for c in made.changes] == [
        ("backport", "mysite/settings.py", 1),
        ("backport", "tests/test_tasks.py", 1),
    ]


def test_a_rule_that_changes_nothing(tmp_path):
    path, starts = rules_file(
        tmp_path,
        """
        [[rule]]
        id = "docs-links"
        releases = ["5.2"]
        files = ["**/*.py"]
        why = "Links point at the reader's release."
        pattern = "docs\\\\.djangoproject\\\\.com/en/6\\\\.1/"
        new = "docs.djangoproject.com/en/{release}/"

        [[rule]]
        id = "stale"
        releases = ["5.2"]
        files = ["**/*.py"]
        why = "Text no stage has any more."
        old = "a line nobody wrote"
        new = "another"
        """,
        forbidden="[]",
    )
    problems = variants.check_rules(variants.load(path))
    assert problems == [
        f"{path}:{starts[1]}: rule 'stale' changes nothing in any stage for "
        "Django 5.2: the stages moved on; update or remove it"
    ]


def test_a_forbidden_pattern_left(tmp_path):
    path, _ = rules_file(
        tmp_path,
        """
        [[rule]]
        id = "only-settings"
        releases = ["5.2"]
        files = ["mysite/settings.py"]
        why = "Misses the views."
        old = "django.tasks"
        new = "django_tasks"
        """,
    )
    stages, tests = fake_stage(
        tmp_path,
        {
            "mysite/settings.py": "import django.tasks\n",
            "testimonials/views.py": "import os\n\nfrom django.tasks import task\n",
        },
    )
    with pytest.raises(variants.RuleError) as raised:
        variants.variant(1, "5.2", variants.load(path), stages, tests)
    message = str(raised.value)
    assert message.startswith("stage01/testimonials/views.py:3: 'django.tasks'")
    assert "Django 5.2 LTS" in message


def test_a_toml_syntax_error(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[release."5.2"\nname = "django52"\n')
    with pytest.raises(variants.RuleError) as raised:
        variants.load(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert "line 1" in str(raised.value)


BAD_RULES = {
    "two actions": (
        'old = "a"\npattern = "b"\nnew = "c"',
        "needs one of old, pattern or add",
    ),
    "no new": ('old = "a"', "'old' needs 'new'"),
    "unknown release": (
        'old = "a"\nnew = "b"',
        "no release '4.2'",
    ),
    "bad regex": (
        'pattern = "(unclosed"\nnew = "b"',
        "the pattern doesn't compile: missing ), unterminated subpattern",
    ),
}


@pytest.mark.parametrize("case", BAD_RULES)
def test_a_bad_rule(tmp_path, case):
    body, error = BAD_RULES[case]
    releases = '["5.2", "4.2"]' if case == "unknown release" else '["5.2"]'
    good = '[[rule]]\nid = "fine"\nreleases = ["5.2"]\nfiles = ["*.py"]\n'
    good += 'why = "Fine."\nold = "a"\nnew = "b"\n'
    bad = f'[[rule]]\nid = "broken"\nreleases = {releases}\nfiles = ["*.py"]\n'
    bad += f'why = "Broken."\n{body}\n'
    path, starts = rules_file(tmp_path, f"{good}\n{bad}")
    with pytest.raises(variants.RuleError) as raised:
        variants.load(path)
    assert str(raised.value).startswith(f"{path}:{starts[1]}: rule 'broken': ")
    assert error in str(raised.value)


def test_find_python_of_the_wrong_version(tmp_path):
    running = "%d.%d" % sys.version_info[:2]
    path, _ = rules_file(tmp_path, "", pythons=["3.9", "3.10"])
    rules = variants.load(path)
    with pytest.raises(variants.RuleError) as raised:
        variants.find_python("5.2", sys.executable, rules)
    assert str(raised.value) == (
        f"PYTHON={sys.executable} is not Python 3.9 or 3.10, which the proof "
        "of Django 5.2 LTS runs with"
    )
    path, _ = rules_file(tmp_path, "", pythons=[running])
    assert variants.find_python("5.2", sys.executable, variants.load(path)) == (
        sys.executable
    )
