"""The tutorial's project for older Django releases, made by rules.

``tutorial_project/variants/rules.toml`` says, rule by rule, how a stage
(the project of a reader on Django 6.1) becomes the project of a reader on
Django 6.0 or 5.2 at the same point of the tutorial. This module applies
the rules; nothing else writes a variant. Three users:

- the site (``stages.py``): each part's stage box offers the variants'
  archives, and the appendix page shows the rules and, part by part, what
  they change (the ``variant-rules`` and ``variant-changes`` directives);
- the proof (``tests/test_variants.py``, ``tests/test_stages.py``): it
  writes the variants of the stages and of their tests, and runs them under
  the release they are for;
- contributors: ``python docs/_ext/variants.py write 5.2 FOLDER`` writes every
  stage's variant into FOLDER/stageNN (and its tests into
  FOLDER/tests/stageNN), and ``requirements 5.2`` prints the
  proof's requirements for that release (``make test-release`` uses both).

It needs nothing but Python 3.11's standard library, so it runs in any
environment of the proof, whichever Django that has.
"""

import fnmatch
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGES = ROOT / "tutorial_project"
VARIANTS = STAGES / "variants"
RULES = VARIANTS / "rules.toml"
TESTS = ROOT / "tests"

# Folders and files that are generated noise wherever they are in a stage:
# never part of a stage, its archives, patches or variants. The one
# definition (stages.py, the site's downloads, and the proof use it).
EXCLUDED_DIRS = frozenset(
    {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "media"}
)
EXCLUDED_FILES = (
    "*.pyc",
    "*.pyo",
    "*.sqlite3",
    "*.sqlite3-journal",
    "*.sqlite3-wal",
    "*.sqlite3-shm",
    "*.zip",
    ".DS_Store",
)


class RuleError(Exception):
    """A rule that can't be applied as written, or a forbidden leftover."""


@dataclass(frozen=True)
class Release:
    version: str  # "5.2"
    name: str  # "django52", in folder and archive names
    title: str  # "Django 5.2 LTS"
    django: str  # the release the variants are proven with, "5.2.19"
    install: str  # what the reader installs instead of part 1's line
    pins: tuple  # the requirements' pins of the variant
    pythons: tuple  # the Pythons the proof runs the variant with
    forbidden: tuple  # patterns no file of a variant may keep


@dataclass(frozen=True)
class Rule:
    id: str
    releases: tuple
    files: tuple
    why: str
    old: str | None = None
    pattern: str | None = None
    new: str | None = None
    add: str | None = None
    from_stage: int = 1
    quiet: bool = False  # the appendix states it once, not part by part
    line: int = 0  # where the rule starts in rules.toml

    @property
    def kind(self):
        return "add" if self.add else "pattern" if self.pattern else "replace"

    def matches(self, path):
        return any(_glob(pattern, path) for pattern in self.files)

    def text(self, value, release):
        """``value`` with {django}, {release} and {pins} filled in."""
        return (
            value.replace("{django}", release.django)
            .replace("{release}", release.version)
            .replace("{pins}", "\n".join(release.pins))
        )

    def apply(self, content, release):
        """(new content, how many places changed)."""
        if self.pattern is not None:
            new = self.text(self.new, release)
            return re.subn(self.pattern, new, content, flags=re.MULTILINE)
        count = content.count(self.old)
        return content.replace(self.old, self.text(self.new, release)), count


def _glob(pattern, path):
    # "**/" at the start is any folder or none; "*" crosses folders.
    if pattern.startswith("**/"):
        pattern = pattern[3:]
        return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(
            path, "*/" + pattern
        )
    return fnmatch.fnmatchcase(path, pattern)


@dataclass
class Rules:
    releases: dict
    rules: list
    source: Path = RULES
    seen: list = field(default_factory=list)  # [Rule]: what the reader sees

    def release(self, version):
        try:
            return self.releases[version]
        except KeyError:
            known = ", ".join(sorted(self.releases))
            raise RuleError(
                f"{self.source}: no release {version!r} (known: {known})"
            ) from None

    def for_release(self, version):
        return [rule for rule in self.rules if version in rule.releases]


RULE_HEADER = re.compile(r"^\s*\[\[\s*rule\s*\]\]\s*(#.*)?$")


def load(path=RULES):
    """The rules of ``rules.toml``; a mistake in it names the rule and line."""
    path = Path(path)
    text = path.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RuleError(f"{path}: {error}") from None
    starts = [
        number
        for number, line in enumerate(text.splitlines(), 1)
        if RULE_HEADER.match(line)
    ]
    if len(starts) != len(data.get("rule", [])):
        raise RuleError(
            f"{path}: can't tell where each rule starts: write every rule's "
            "header as a line of its own, [[rule]]"
        )
    releases = {}
    for version, entry in data.get("release", {}).items():
        try:
            releases[version] = Release(
                version=version,
                name=entry["name"],
                title=entry["title"],
                django=entry["django"],
                install=entry["install"],
                pins=tuple(entry["pins"]),
                pythons=tuple(entry["pythons"]),
                forbidden=tuple(entry.get("forbidden", ())),
            )
        except KeyError as missing:
            raise RuleError(f"{path}: release {version!r} has no {missing}") from None
    rules = []
    for entry, line in zip(data.get("rule", []), starts, strict=True):
        where = f"{path}:{line}: rule {entry.get('id', '(no id)')!r}"
        known = set(Rule.__dataclass_fields__) - {"line"}
        unknown = set(entry) - known
        if unknown:
            raise RuleError(f"{where}: unknown keys {sorted(unknown)}")
        for key in ("id", "releases", "files", "why"):
            if key not in entry:
                raise RuleError(f"{where}: no {key!r}")
        actions = [key for key in ("old", "pattern", "add") if key in entry]
        if len(actions) != 1:
            raise RuleError(f"{where}: needs one of old, pattern or add")
        if actions != ["add"] and "new" not in entry:
            raise RuleError(f"{where}: {actions[0]!r} needs 'new'")
        for version in entry["releases"]:
            if version not in releases:
                raise RuleError(f"{where}: no release {version!r}")
        if "pattern" in entry:
            try:
                re.compile(entry["pattern"])
            except re.error as error:
                raise RuleError(
                    f"{where}: the pattern doesn't compile: {error}"
                ) from None
        rules.append(
            Rule(
                **{
                    **entry,
                    "releases": tuple(entry["releases"]),
                    "files": tuple(entry["files"]),
                    "why": " ".join(entry["why"].split()),
                },
                line=line,
            )
        )
    seen = []
    for entry in data.get("seen", []):
        where = f"{path}: seen {entry.get('id', '(no id)')!r}"
        missing = {"id", "releases", "why", "new"} - set(entry)
        if missing or ("old" in entry) == ("pattern" in entry):
            raise RuleError(f"{where}: needs id, releases, why, new and old or pattern")
        seen.append(
            Rule(
                id=entry["id"],
                releases=tuple(entry["releases"]),
                files=(),
                why=" ".join(entry["why"].split()),
                old=entry.get("old"),
                pattern=entry.get("pattern"),
                new=entry["new"],
            )
        )
    return Rules(releases, rules, path, seen)


def seen(text, version, rules=None):
    """``text``, output of Django 6.1, as a reader of ``version`` sees it.

    The ``[[seen]]`` entries of rules.toml: the names a traceback or a log
    line shows that differ on the release. The proof's expectations pass
    through it in a release pass; the appendix lists the entries.
    """
    rules = rules or load()
    release = rules.release(version)
    for entry in rules.seen:
        if version in entry.releases:
            text, _ = entry.apply(text, release)
    return text


def stage_files(folder):
    """The files of a stage (or a test folder), noise left out, sorted.

    Returns paths relative to *folder*, with forward slashes.
    """
    folder = Path(folder)
    found = []
    for place, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_DIRS)
        for name in filenames:
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in EXCLUDED_FILES):
                continue
            path = Path(place, name)
            if path.is_file():
                found.append(path.relative_to(folder).as_posix())
    return sorted(found)


@dataclass
class Change:
    """What one rule did to one file of one stage."""

    rule: Rule
    path: str
    count: int
    before: str = ""
    after: str = ""


@dataclass
class Variant:
    release: Release
    stage: int
    files: dict = field(default_factory=dict)  # path -> bytes
    changes: list = field(default_factory=list)  # [Change]

    def write(self, folder, tests=None):
        """The reader's files into ``folder``; the proof's into ``tests``."""
        folder = Path(folder)
        for path, data in self.files.items():
            if path.startswith("tests/"):
                if tests is None:
                    continue
                target = Path(tests) / path.removeprefix("tests/")
            else:
                target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists() or target.read_bytes() != data:
                target.write_bytes(data)
        return folder


def variant(
    number, version, rules=None, stages=STAGES, tests=TESTS, only=None, check=True
):
    """The variant of stage ``number`` for ``version``, with its tests.

    Files of ``tests/stageNN`` come under ``tests/``; they are the proof's,
    not the reader's, and stay out of the archives (see :func:`project`).
    ``only`` (a test of a rule) applies some of the rules; ``check=False``
    leaves the forbidden patterns unchecked (the appendix's use, with
    ``only``).
    """
    rules = rules or load()
    release = rules.release(version)
    stage = Path(stages) / f"stage{number:02d}"
    if not stage.is_dir():
        raise RuleError(f"no stage folder {stage}")
    sources = {path: stage / path for path in stage_files(stage)}
    tests_folder = Path(tests) / f"stage{number:02d}"
    if tests_folder.is_dir():
        for path in stage_files(tests_folder):
            sources[f"tests/{path}"] = tests_folder / path
    result = Variant(release, number)
    texts = {}
    for path, source in sources.items():
        data = source.read_bytes()
        try:
            texts[path] = data.decode()
        except UnicodeDecodeError:
            result.files[path] = data  # images and the like: unchanged
    for rule in rules.for_release(version):
        if only is not None and not only(rule):
            continue
        if rule.add:
            if number >= rule.from_stage:
                extra = rules.source.parent / rule.add
                if not extra.is_file():
                    raise RuleError(
                        f"{rules.source}:{rule.line}: rule {rule.id!r} adds "
                        f"{extra}, which doesn't exist"
                    )
                path = rule.files[0]
                texts[path] = extra.read_text()
                result.changes.append(Change(rule, path, 1, "", texts[path]))
            continue
        for path, content in texts.items():
            if not rule.matches(path):
                continue
            new, count = rule.apply(content, release)
            if count:
                result.changes.append(Change(rule, path, count, content, new))
                texts[path] = new
    for path, content in texts.items():
        result.files[path] = content.encode()
    for path, content in texts.items() if check else ():
        for forbidden in release.forbidden:
            for match in re.finditer(forbidden, content):
                line = content.count("\n", 0, match.start()) + 1
                shown = (
                    f"tests/stage{number:02d}/{path.removeprefix('tests/')}"
                    if path.startswith("tests/")
                    else f"stage{number:02d}/{path}"
                )
                raise RuleError(
                    f"{shown}:{line}: {match.group(0)!r} is "
                    f"left in the {release.title} variant (forbidden in "
                    f"{rules.source.name}): a rule no longer matches, or one "
                    "is missing"
                )
    result.files = dict(sorted(result.files.items()))
    return result


def transform(path, text, version, rules=None):
    """``text``, a file at ``path`` of a stage, as the variant would have it.

    For code the proof adds to a copy of a variant (a task module, a
    settings override), so it imports what the release provides.
    """
    rules = rules or load()
    release = rules.release(version)
    for rule in rules.for_release(version):
        if not rule.add and rule.matches(path):
            text, _ = rule.apply(text, release)
    return text


def project(number, version, rules=None, **options):
    """The reader's files only: the variant without the proof's tests."""
    whole = variant(number, version, rules, **options)
    whole.files = {
        path: data
        for path, data in whole.files.items()
        if not path.startswith("tests/")
    }
    whole.changes = [c for c in whole.changes if not c.path.startswith("tests/")]
    return whole


def stage_numbers(stages=STAGES):
    return sorted(
        int(path.name[5:])
        for path in Path(stages).glob("stage[0-9][0-9]")
        if path.is_dir()
    )


def check_rules(rules=None, stages=STAGES, tests=TESTS):
    """Every rule changes something in some stage of each of its releases."""
    rules = rules or load()
    problems = []
    for version in rules.releases:
        used = set()
        for number in stage_numbers(stages):
            try:
                made = variant(number, version, rules, stages, tests)
            except RuleError as error:
                problems.append(str(error))
                continue
            used.update(change.rule.id for change in made.changes)
        for rule in rules.for_release(version):
            if rule.id not in used:
                problems.append(
                    f"{rules.source}:{rule.line}: rule {rule.id!r} changes "
                    f"nothing in any stage for Django {version}: the stages "
                    "moved on; update or remove it"
                )
    return problems


# requirements.txt's section headings; the release passes install the first two.
SECTIONS = ("# The tutorial project", "# The proof", "# The site", "# Style")


def requirements(version, rules=None, source=ROOT / "requirements.txt"):
    """The release pass's requirements: requirements.txt, re-pinned.

    The sections of the tutorial project and of the proof only: the site's
    tools and the style checks are the main pass's, and need a newer Python
    than some releases' (Sphinx 9 needs 3.12).
    """
    rules = rules or load()
    release = rules.release(version)
    names = {_name(pin) for pin in release.pins}
    kept, keep = [], False
    for line in source.read_text().splitlines():
        if line.startswith(SECTIONS):
            keep = line.startswith(SECTIONS[:2])
        requirement = line.split("#")[0].strip()
        if keep and requirement and _name(requirement) not in names:
            kept.append(requirement)
    return [*release.pins, *kept]


def find_python(version, given=None, rules=None):
    """An interpreter the release's proof runs with: ``given``, or found.

    Without ``given``: the newest of the release's Pythons, as python3.X on
    PATH or installed by pyenv.
    """
    import glob
    import os
    import shutil
    import subprocess

    release = (rules or load()).release(version)

    def minor(python):
        try:
            done = subprocess.run(
                [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
            )
        except OSError:  # no such file, not a program
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    wanted = " or ".join(release.pythons)
    if given:
        found = shutil.which(given) or given
        if minor(found) not in release.pythons:
            raise RuleError(
                f"PYTHON={given} is not Python {wanted}, which the proof of "
                f"{release.title} runs with"
            )
        return found
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for python in sorted(release.pythons, key=_version_key, reverse=True):
        candidates = [shutil.which(f"python{python}")] + sorted(
            glob.glob(f"{pyenv}/versions/{python}.*/bin/python3"),
            key=lambda path: _version_key(path.split("/")[-3]),
            reverse=True,
        )
        for candidate in filter(None, candidates):
            if minor(candidate) == python:
                return candidate
    raise RuleError(
        f"the proof of {release.title} needs Python {wanted}, and none was "
        "found: install one, or name it with PYTHON=/path/to/python"
    )


def _version_key(text):
    return tuple(int(part) for part in re.findall(r"\d+", text))


def _name(requirement):
    return re.split(r"[\[=<>~!; ]", requirement, maxsplit=1)[0].lower()


def main(argv):
    if len(argv) >= 2 and argv[0] == "requirements":
        print("\n".join(requirements(argv[1])))
        return 0
    if len(argv) == 3 and argv[0] == "write":
        rules = load()
        for number in stage_numbers():
            name = f"stage{number:02d}"
            out = Path(argv[2])
            variant(number, argv[1], rules).write(out / name, out / "tests" / name)
        return 0
    if len(argv) in (2, 3) and argv[0] == "python":
        print(find_python(argv[1], argv[2] if len(argv) == 3 else None))
        return 0
    if argv == ["check"]:
        problems = check_rules()
        print("\n".join(problems) or "Every rule applies.")
        return 1 if problems else 0
    print(
        "usage: variants.py requirements VERSION | python VERSION [PYTHON]"
        " | write VERSION FOLDER | check",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except RuleError as error:
        sys.exit(f"error: {error}")
