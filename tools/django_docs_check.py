"""Check a Django docs tree with Django's own tooling, offline.

    python tools/django_docs_check.py DOCS_DIR FILE...

DOCS_DIR is a Django ``docs/`` folder (one with Django's ``conf.py``) and
each FILE a page in it, relative to DOCS_DIR (``intro/tasks-tutorial01.txt``).
The check runs what Django's ``docs/Makefile`` runs:

- ``make html``: Sphinx's ``html`` builder with Django's options (``-n``,
  ``-D language=en``, ``--jobs auto``), once on a pristine copy of the
  release's docs (the baseline, kept per Django and Sphinx version) and
  once on DOCS_DIR; any warning the baseline doesn't have is a problem;
- ``make lint``: Django's ``docs/lint.py`` (sphinx-lint) on the FILEs;
- ``make black``: ``blacken-docs --rst-literal-block`` on copies of the
  FILEs; a file it would change is a problem, shown as a diff;
- ``make spelling``: sphinxcontrib-spelling with Django's
  ``spelling_wordlist``, reported for the FILEs.

It prints the figures of each step and exits with 1 on any problem.

Both builds use one configuration folder whose ``conf.py`` executes Django's
``conf.py`` and then makes it work without a network: intersphinx reads
Python's inventory from ``docs/_inventories/python.inv``; Sphinx's and
psycopg's, of which there is no local copy, are left out, so their links are
unresolved in both builds alike and cancel out in the comparison.

Without a Django docs tree at hand, :func:`django_docs` downloads the
release's source distribution with pip (the package index is all the network
it needs) into the build folder (``$PROOF_BUILD_DIR`` or ``_build/``) and
unpacks it once. The spelling check needs the Enchant library and an en_US
dictionary (Debian: ``libenchant-2-2`` and ``hunspell-en-us``).
"""

import argparse
import difflib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON_INVENTORY = ROOT / "docs" / "_inventories" / "python.inv"
DJANGO_VERSION = "6.1.3"

# The configuration folder's conf.py. DJANGO_DOCS_SOURCE names the docs
# folder being built; the text is the same for every build.
CONF_WRAPPER = """\
import os
from pathlib import Path

_docs = Path(os.environ["DJANGO_DOCS_SOURCE"]).resolve()
_conf = _docs / "conf.py"
# Django's conf.py finds _ext/ and the django package from its __file__.
__file__ = str(_conf)
exec(compile(_conf.read_text(encoding="utf-8"), __file__, "exec"))
__file__ = str(Path(os.environ["DJANGO_DOCS_CONF"]) / "conf.py")

# Paths that Sphinx reads relative to the configuration folder.
html_theme_path = [str(_docs / path) for path in html_theme_path]
templates_path = [str(_docs / path) for path in globals().get("templates_path", [])]
locale_dirs = [str(_docs / path) for path in locale_dirs]

# Intersphinx without a network: local inventories only.
_local_inventories = {"python": os.environ["DJANGO_DOCS_PYTHON_INV"]}
intersphinx_mapping = {
    name: (value[0], _local_inventories[name])
    for name, value in intersphinx_mapping.items()
    if name in _local_inventories
}
intersphinx_timeout = 5
"""

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The start of a Sphinx or docutils message in the warning file.
MESSAGE_START = re.compile(r"(^|: )(WARNING|ERROR|CRITICAL|SEVERE|INFO): ")
LINE_NUMBER = re.compile(r"^([^:\s]*):\d+:")


class CheckError(Exception):
    """Something the check needs is missing; the message names it."""


def build_dir():
    """The build folder: $PROOF_BUILD_DIR, or _build/ in the project."""
    return Path(os.environ.get("PROOF_BUILD_DIR") or ROOT / "_build")


def default_cache():
    return build_dir() / "django-docs"


def _run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def _tail(text, lines=8):
    return "\n".join(text.strip().splitlines()[-lines:])


def django_docs(version=DJANGO_VERSION, cache=None):
    """Return the docs/ folder of Django's sdist, downloaded and unpacked once.

    The sdist comes from the package index with ``pip download``; it is
    unpacked whole into CACHE/django-VERSION/, since Django's conf.py and
    _ext/github_links.py read the django package next to docs/.
    """
    cache = Path(cache or default_cache())
    folder = cache / f"django-{version}"
    docs = folder / f"django-{version}" / "docs"
    if (folder / ".unpacked").exists() and (docs / "conf.py").is_file():
        return docs
    downloads = cache / "sdist"
    downloads.mkdir(parents=True, exist_ok=True)
    tarballs = [
        p
        for p in downloads.glob("*.tar.gz")
        if p.name.lower() == f"django-{version}.tar.gz"
    ]
    if not tarballs:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet",
            "--no-deps", "--no-binary", ":all:",
            "--retries", "1", "--timeout", "30",
            f"django=={version}", "--dest", str(downloads),
        ]  # fmt: skip
        result = _run(command)
        tarballs = [
            p
            for p in downloads.glob("*.tar.gz")
            if p.name.lower() == f"django-{version}.tar.gz"
        ]
        if result.returncode != 0 or not tarballs:
            raise CheckError(
                f"cannot download Django {version}'s source distribution "
                f"(pip download django=={version} --no-binary :all:); "
                "is the package index reachable?\n" + _tail(result.stderr)
            )
    unpacking = Path(tempfile.mkdtemp(prefix="unpack-", dir=cache))
    try:
        with tarfile.open(tarballs[0], "r:gz") as tar:
            tar.extractall(unpacking, filter="data")
        unpacked = unpacking / f"django-{version}"
        if not (unpacked / "docs" / "conf.py").is_file():
            raise CheckError(f"{tarballs[0]} has no django-{version}/docs/conf.py")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        unpacked.rename(folder / f"django-{version}")
        (folder / ".unpacked").write_text(tarballs[0].name + "\n")
    except (OSError, tarfile.TarError) as error:
        raise CheckError(f"cannot unpack {tarballs[0]}: {error}") from error
    finally:
        shutil.rmtree(unpacking, ignore_errors=True)
    return docs


def pristine_copy(docs, target):
    """Copy the docs folder to TARGET/docs; return the copy's path.

    TARGET is emptied first. The django package next to the original docs,
    which Django's conf.py and _ext/ read, is linked beside the copy.
    """
    docs, target = Path(docs).resolve(), Path(target)
    if not (docs / "conf.py").is_file():
        raise CheckError(f"no Django docs folder at {docs} (conf.py is missing)")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    copy = target / "docs"
    shutil.copytree(docs, copy, ignore=shutil.ignore_patterns("_build", "__pycache__"))
    package = docs.parent / "django"
    if package.is_dir():
        (target / "django").symlink_to(package, target_is_directory=True)
    return copy


def _check_docs_dir(docs_dir):
    docs_dir = Path(docs_dir)
    if not docs_dir.is_dir():
        raise CheckError(f"no docs folder at {docs_dir}")
    if not (docs_dir / "conf.py").is_file():
        raise CheckError(f"{docs_dir} is not Django's docs folder (no conf.py)")
    return docs_dir.resolve()


def normalize(line, docs_dir, *others):
    """A message without colors, with paths relative to the docs folder."""
    line = ANSI.sub("", line).rstrip()
    for folder in (docs_dir, *others):
        for spelling in {str(folder), str(Path(folder).resolve())}:
            line = line.replace(spelling + os.sep, "")
    # Files next to docs/, such as an include of ../tutorial_project/...
    for spelling in {str(Path(docs_dir).parent), str(Path(docs_dir).resolve().parent)}:
        line = line.replace(spelling + os.sep, "../")
    return line


def _position(message):
    """Sorting key: file, then line number as a number."""
    match = re.match(r"([^:\s]*):(\d+):", message)
    if match:
        return (match[1], int(match[2]), message)
    return (message.split(":", 1)[0], 0, message)


def parse_warnings(text, docs_dir, *others):
    """Split Sphinx's warning file into sorted, normalized messages.

    A message that spans several lines stays one entry; parallel builds
    write them in any order, hence the sorting.
    """
    messages = []
    for line in text.splitlines():
        line = normalize(line, docs_dir, *others)
        if not line:
            continue
        if MESSAGE_START.search(line) or not messages:
            messages.append(line)
        else:
            messages[-1] += "\n" + line
    return sorted(messages, key=_position)


def _sphinx(docs_dir, out_dir, builder, files=(), jobs="auto"):
    """Run sphinx-build as Django's Makefile does; return (warnings, seconds)."""
    docs_dir = _check_docs_dir(docs_dir)
    out_dir = Path(out_dir).resolve()
    if not PYTHON_INVENTORY.is_file():
        raise CheckError(f"Python's inventory is missing: {PYTHON_INVENTORY}")
    conf = out_dir / "conf"
    doctrees = out_dir / "doctrees"
    output = out_dir / builder
    warning_file = out_dir / f"{builder}-warnings.txt"
    # A fresh build: an incremental one would not repeat the warnings of
    # the pages it doesn't read again.
    for path in (doctrees, output, conf):
        shutil.rmtree(path, ignore_errors=True)
    conf.mkdir(parents=True)
    (conf / "conf.py").write_text(CONF_WRAPPER)
    env = dict(
        os.environ,
        DJANGO_DOCS_SOURCE=str(docs_dir),
        DJANGO_DOCS_CONF=str(conf),
        DJANGO_DOCS_PYTHON_INV=str(PYTHON_INVENTORY),
        NO_COLOR="1",
        # sphinxcontrib-spelling accepts the names in `git log`: those of
        # the Django checkout holding docs/, never of a repository around a
        # copy of it.
        GIT_CEILING_DIRECTORIES=str(docs_dir.parent.parent),
    )
    command = [
        sys.executable, "-m", "sphinx", "-b", builder, "-c", str(conf),
        "-n", "-d", str(doctrees), "-D", "language=en", "--jobs", str(jobs),
        "--no-color", "--warning-file", str(warning_file), "-q",
        str(docs_dir), str(output), *[str(docs_dir / f) for f in files],
    ]  # fmt: skip
    started = time.monotonic()
    result = _run(command, cwd=docs_dir, env=env)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise CheckError(
            f"sphinx-build -b {builder} failed on {docs_dir} "
            f"(exit status {result.returncode}):\n" + _tail(result.stderr, 15)
        )
    text = warning_file.read_text() if warning_file.exists() else ""
    return parse_warnings(text, docs_dir, out_dir), seconds


def build(docs_dir, out_dir, jobs="auto"):
    """Django's ``make html``, offline; return (warnings, seconds)."""
    return _sphinx(docs_dir, out_dir, "html", jobs=jobs)


def new_warnings(baseline, exported):
    """The warnings of EXPORTED that BASELINE doesn't have.

    Line numbers are left out of the comparison, since a page that gains
    lines (intro/index.txt's table of contents) moves its old warnings.
    """
    known = Counter(LINE_NUMBER.sub(r"\1:", w) for w in baseline)
    new = []
    for warning in exported:
        key = LINE_NUMBER.sub(r"\1:", warning)
        if known[key]:
            known[key] -= 1
        else:
            new.append(warning)
    return new


def _relative(docs_dir, files):
    """The FILEs as paths relative to DOCS_DIR, each checked to exist."""
    docs_dir = Path(docs_dir).resolve()
    relative = []
    for name in files:
        path = Path(name)
        if not path.is_absolute():
            path = docs_dir / path
        path = path.resolve()
        if not path.is_relative_to(docs_dir):
            raise CheckError(f"{name} is not inside {docs_dir}")
        if not path.is_file():
            raise CheckError(f"no file {path.relative_to(docs_dir)} in {docs_dir}")
        relative.append(path.relative_to(docs_dir).as_posix())
    return relative


def _stage(docs_dir, files, stage):
    """Copy FILES (relative to DOCS_DIR) into STAGE under the same names."""
    for name in files:
        target = stage / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(docs_dir / name, target)


def lint(docs_dir, files):
    """Django's docs/lint.py on FILES only; return its messages.

    lint.py always checks the folder it lies in, with Django's options, so
    it runs from a folder holding a copy of it and of the FILEs.
    """
    docs_dir = _check_docs_dir(docs_dir)
    files = _relative(docs_dir, files)
    if not (docs_dir / "lint.py").is_file():
        raise CheckError(f"{docs_dir} has no lint.py")
    with tempfile.TemporaryDirectory(prefix="django-lint-") as stage:
        stage = Path(stage)
        shutil.copyfile(docs_dir / "lint.py", stage / "lint.py")
        _stage(docs_dir, files, stage)
        result = _run([sys.executable, str(stage / "lint.py")], cwd=stage)
        output = result.stdout + result.stderr
        problems = [
            normalize(line, stage)
            for line in output.splitlines()
            if any(normalize(line, stage).startswith(f + ":") for f in files)
        ]
    if result.returncode != 0 and not problems:
        raise CheckError("docs/lint.py failed:\n" + _tail(output))
    return problems


def black(docs_dir, files):
    """``make black`` as a check: each problem is a parse error or a diff."""
    docs_dir = _check_docs_dir(docs_dir)
    files = _relative(docs_dir, files)
    problems = []
    with tempfile.TemporaryDirectory(prefix="django-black-") as stage:
        stage = Path(stage)
        _stage(docs_dir, files, stage)
        # --skip-errors: a block that doesn't parse is reported, and the
        # others are still formatted (`make black` would stop at the first).
        command = [
            sys.executable, "-m", "blacken_docs", "--rst-literal-block",
            "--skip-errors",
        ]  # fmt: skip
        result = _run([*command, *files], cwd=stage)
        for line in result.stdout.splitlines():
            if "code block parse error" in line:
                problems.append(normalize(line, stage))
        for name in files:
            before = (docs_dir / name).read_text(encoding="utf-8")
            after = (stage / name).read_text(encoding="utf-8")
            if before != after:
                diff = difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    f"a/{name}",
                    f"b/{name}",
                )
                problems.append(
                    f"{name}: blacken-docs would reformat\n" + "".join(diff)
                )
    if result.returncode != 0 and not problems:
        raise CheckError("blacken-docs failed:\n" + _tail(result.stderr))
    return problems


def check_enchant():
    """Raise CheckError unless pyenchant finds Enchant and an en_US dictionary."""
    probe = (
        "import enchant\n"
        "if not enchant.dict_exists('en_US'):\n"
        "    raise SystemExit('no en_US dictionary')\n"
    )
    result = _run([sys.executable, "-c", probe])
    if result.returncode != 0:
        raise CheckError(
            "the spelling check needs pyenchant, the Enchant library and an en_US "
            "dictionary (Debian: apt-get install libenchant-2-2 hunspell-en-us):\n"
            + _tail(result.stderr or result.stdout, 3)
        )


def spelling(docs_dir, out_dir, files, jobs="auto"):
    """Django's ``make spelling``, reported for FILES.

    Returns {file: ["LINE: (word) context", ...]} for the FILEs with words
    that are neither in the dictionary nor in docs/spelling_wordlist.
    """
    check_enchant()
    docs_dir = _check_docs_dir(docs_dir)
    files = _relative(docs_dir, files)
    _sphinx(docs_dir, out_dir, "spelling", files=files, jobs=jobs)
    unknown = {}
    for name in files:
        report = Path(out_dir) / "spelling" / (name.rsplit(".", 1)[0] + ".spelling")
        if report.exists():
            lines = report.read_text(encoding="utf-8").splitlines()
            unknown[name] = [
                " ".join(line.removeprefix(name + ":").split()) for line in lines
            ]
    return unknown


def _fingerprint():
    """What the baseline's warnings depend on besides Django's version."""
    import sphinx

    text = f"{sphinx.__version__}\n{CONF_WRAPPER}\n{PYTHON_INVENTORY.read_bytes()!r}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def baseline(version=DJANGO_VERSION, cache=None, jobs="auto"):
    """The warnings of the pristine docs, built once per version; (list, s)."""
    cache = Path(cache or default_cache())
    saved = cache / f"baseline-{version}-{_fingerprint()}.json"
    if saved.exists():
        data = json.loads(saved.read_text())
        return data["warnings"], data["seconds"]
    docs = django_docs(version, cache)
    work = cache / f"baseline-{version}"
    copy = pristine_copy(docs, work / "tree")
    warnings, seconds = build(copy, work / "out", jobs=jobs)
    saved.write_text(json.dumps({"warnings": warnings, "seconds": seconds}, indent=1))
    return warnings, seconds


def _section(title, lines):
    print(f"\n== {title}")
    for line in lines:
        print(line)


def check(docs_dir, files, version=DJANGO_VERSION, cache=None, jobs="auto"):
    """Run every check on DOCS_DIR and FILES, print the report; exit status."""
    docs_dir = _check_docs_dir(docs_dir)
    files = _relative(docs_dir, files)
    check_enchant()
    cache = Path(cache or default_cache())
    out = cache / "check"
    figures = []

    base, base_seconds = baseline(version, cache, jobs)
    warnings, seconds = build(docs_dir, out / "html-build", jobs=jobs)
    new = new_warnings(base, warnings)
    figures.append(
        f"build: {len(new)} new warnings ({len(warnings)} in all, "
        f"{len(base)} in Django {version}'s own docs); "
        f"{seconds:.0f} s (baseline {base_seconds:.0f} s)"
    )
    _section("New warnings of the build", new)

    started = time.monotonic()
    lint_problems = lint(docs_dir, files)
    figures.append(
        f"lint: {len(lint_problems)} problems; {time.monotonic() - started:.1f} s"
    )
    _section("docs/lint.py", lint_problems)

    started = time.monotonic()
    black_problems = black(docs_dir, files)
    figures.append(
        f"black: {len(black_problems)} problems; {time.monotonic() - started:.1f} s"
    )
    _section("blacken-docs", black_problems)

    started = time.monotonic()
    unknown = spelling(docs_dir, out / "spelling-build", files, jobs=jobs)
    words = sum(len(lines) for lines in unknown.values())
    figures.append(
        f"spelling: {words} unknown words in {len(unknown)} files; "
        f"{time.monotonic() - started:.0f} s"
    )
    _section(
        "Unknown words",
        [f"{name}:{line}" for name, lines in unknown.items() for line in lines],
    )

    _section("Figures", figures)
    failed = bool(new or lint_problems or black_problems or words)
    print("\nFAILED" if failed else "\nAll checks passed.")
    return 1 if failed else 0


def check_export(docs, version=DJANGO_VERSION, cache=None, jobs="auto"):
    """Export the tutorial into a copy of DOCS and check the copy."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import django_docs as exporter

    cache = Path(cache or default_cache())
    copy = pristine_copy(docs, cache / "export")
    patch = cache / "tasks-tutorial.patch"
    written = [Path(p) for p in exporter.export(copy, patch)]
    pages = [
        p.resolve().relative_to(copy.resolve()).as_posix()
        for p in written
        if p.suffix == ".txt"
    ]
    if problem := patch_problem(docs, patch, copy, cache / "applied"):
        print(f"== The patch\n{problem}\n\nFAILED")
        return 1
    print(f"The patch applies with git apply to a clean tree: {patch}")
    return check(copy, pages, version, cache, jobs)


def patch_problem(docs, patch, exported, target):
    """None when ``git apply`` of PATCH to a clean copy gives the export."""
    clean = pristine_copy(docs, target)
    root = clean.parent
    _run(["git", "init", "-q"], cwd=root)
    done = _run(["git", "apply", str(patch)], cwd=root)
    if done.returncode:
        return f"git apply failed: {done.stderr.strip()}"
    compared = _run(["diff", "-r", "-q", str(exported), str(clean)])
    if compared.returncode:
        return f"the patched tree differs from the export:\n{compared.stdout}"
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Check a Django docs tree with Django's own tooling."
    )
    parser.add_argument("docs_dir", metavar="DOCS_DIR", help="a Django docs/ folder")
    parser.add_argument(
        "files", metavar="FILE", nargs="+", help="pages to lint, blacken, spell-check"
    )
    parser.add_argument("--version", default=DJANGO_VERSION, help="Django's release")
    parser.add_argument("--cache", help="folder of the sdist and the baseline")
    parser.add_argument("--jobs", default="auto", help="Sphinx's --jobs")
    arguments = parser.parse_args(argv)
    try:
        return check(
            arguments.docs_dir,
            arguments.files,
            arguments.version,
            arguments.cache,
            arguments.jobs,
        )
    except CheckError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
