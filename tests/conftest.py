"""Shared fixtures of the proof, and the split between its two kinds of run.

`make test` runs everything in tests/ except the stage folders: each
``tests/stageNN/`` holds verification tests that import the reader's project
of that stage (``mysite``, ``testimonials``), and the stages' modules share
those names. So ``test_stages.py`` runs each ``tests/stageNN/`` in a pytest
process of its own, with PROOF_STAGE=NN, the stage on the path and
pytest-django pointed at the stage's settings.

`make test` runs the proof in parallel, with pytest-xdist: see "Running in
parallel" below for what that changes.
"""

import functools
import json
import os
import re
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from proof.report import AUDIT_REPORT  # noqa: E402

_STAGE = os.environ.get("PROOF_STAGE")
if _STAGE:
    collect_ignore_glob = ["test_*.py", "checker/*"] + [
        f"stage{n:02d}/*" for n in range(100) if n != int(_STAGE)
    ]
else:
    collect_ignore_glob = ["stage[0-9][0-9]/*"]


# The release pass (make test-release RELEASE=5.2; proof.paths.RELEASE) runs
# what proves the stages' variants for that release: the stage checks and
# tests, and the end-to-end tests, whose stage_dir() is then the variant's.
# The pages show Django 6.1's output; their replay and the site's checks are
# the main pass's.
RELEASE = os.environ.get("PROOF_RELEASE", "").strip()
RELEASE_MODULES = {
    "test_stages.py",
    "test_release.py",
    "test_part01_worker.py",
    "test_part02_notification.py",
    "test_part02_transactions.py",
    "test_part04_worker.py",
    "test_part05_worker.py",
    "test_part06_suite.py",
    "test_part07_settings.py",
    "test_part07_worker.py",
    "test_part07_sqlite.py",
    "test_part08_recovery.py",
    "test_part08_workers.py",
}


def pytest_ignore_collect(collection_path, config):
    if _STAGE or collection_path.parent != HERE:
        return None
    if RELEASE:
        return collection_path.name not in RELEASE_MODULES or None
    if collection_path.name == "test_release.py":
        return True
    return None


# The end-to-end tests' fixtures (inbox), the browser tests' (server,
# browser); in a stage's run, the stage tests' own (member, post_form).
pytest_plugins = ["proof.fixtures", "proof.browsing"] + (
    ["proof.in_stage"] if _STAGE else []
)


if _STAGE:

    @pytest.fixture(autouse=True)
    def fast_password_hashing(settings):
        """Hash test users' passwords fast: Django's default is slow on purpose."""
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config):
    """Mark this run's processes, and end them with it (see proof.processes).

    From here on SIGTERM stops the run as Ctrl+C does, with cleanup.
    """
    from proof.processes import install

    _only_part()
    if not RELEASE and not _STAGE:
        import django

        if django.VERSION < (6, 1):
            raise pytest.UsageError(
                f"the stages are written for Django 6.1, and this is Django "
                f"{django.get_version()}: prove their variants for your release "
                "with make test-release RELEASE=6.0 (or RELEASE=5.2)"
            )
    install()


def _only_part():
    """PROOF_PART's part number, as text; "" when the run proves every part."""
    # A stage's own run (PROOF_STAGE) is one part already.
    only = "" if _STAGE else os.environ.get("PROOF_PART", "").strip()
    if only and not only.isdigit():
        raise pytest.UsageError(f"PART={only!r}: give a part number, such as PART=3")
    return only


def pytest_unconfigure(config):
    from proof.processes import sweep

    sweep()


def pytest_sessionstart(session):
    """An xdist controller passes SIGTERM on to its workers (see proof.processes)."""
    if _controller(session.config):
        from proof.processes import forward_interrupts_to_children

        forward_interrupts_to_children()


@pytest.fixture(scope="session")
def site():
    """The site, built once per run exactly as `make html` builds it."""
    from proof.sphinx_build import build_site

    return build_site()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """With PROOF_PART=N (``make test PART=N``), keep only the tests of part N.
    In an xdist worker, also group and order the tests (`schedule`).
    """
    only = _only_part()
    kept, other_parts = [], []
    for item in items:
        number = part_of(item)
        if only and number != int(only):
            other_parts.append(item)
        else:
            kept.append(item)
    if only and not kept:
        message = f"PART={only}: no test proves part {int(only)}"
        if not _worker(config):
            raise pytest.UsageError(message)
        # A worker's usage error would stop it as a crash: the controller says it.
        config.stash[USAGE_ERROR] = message
    if other_parts:
        config.hook.pytest_deselected(items=other_parts)
        items[:] = kept
    if not _STAGE:
        _parts.update((item.nodeid, part_of(item)) for item in items)
    if _worker(config):
        groups = schedule(items, config.workerinput.get(TIMES_INPUT, {}))
        _write_groups(_groups_file(os.getppid()), groups)


# tests/test_partNN_*.py proves part NN.
PART_FILE = re.compile(r"test_part(\d\d)_\w+\.py")


def part_of(item):
    """The part a test proves: its `number` parameter, its file, or its marker."""
    callspec = getattr(item, "callspec", None)
    if callspec and "number" in callspec.params:
        return callspec.params["number"]
    if match := PART_FILE.fullmatch(item.path.name):
        return int(match.group(1))
    marker = item.get_closest_marker("part")
    return marker.args[0] if marker else None


def pytest_terminal_summary(terminalreporter, config):
    if _worker(config):
        return
    if message := config.stash.get(USAGE_ERROR, None):
        terminalreporter.write_line(f"ERROR: {message}", red=True, bold=True)
    lines = config.stash.get(AUDIT_REPORT, None)
    if lines:
        terminalreporter.section("audit: code blocks per part")
        for line in lines:
            terminalreporter.write_line(line)


USAGE_ERROR = pytest.StashKey[str]()


# CI forbids skips: a check that did not run proved nothing.
FORBID_SKIPS = bool(os.environ.get("PROOF_FORBID_SKIPS"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if FORBID_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, and PROOF_FORBID_SKIPS is set: {report.longrepr}"


# -- Running in parallel -------------------------------------------------------
#
# `make test` runs pytest with ``-n N --dist loadgroup``: a controller hands
# the tests to N worker processes, each a pytest of its own with this
# conftest. So:
#
# - each worker marks and sweeps its processes (pytest_configure), inside the
#   controller's mark, which therefore covers the whole run;
# - the `site` fixture builds the site once for all workers
#   (proof.sphinx_build);
# - the tests that share a module's fixtures (a browser, a migrated project)
#   go to one worker together, the longest first: each worker orders its
#   collection and writes the groups where the controller's scheduler reads
#   them (`schedule`, `pytest_xdist_make_scheduler`);
# - the controller prints the summaries: a worker sends it what the tests
#   left in its config (the audit's counts, the parts left out) and the
#   part of each test, in ``config.workeroutput``;
# - every run that is not a stage's records each test's part and seconds in
#   $PROOF_BUILD_DIR/durations.json, which orders the next run's tests, and
#   the last run's alone in last-run.json, which ``tests/bench.py --proof``
#   sums by part.

DURATIONS = "durations.json"
# The same, for the tests of the last run alone.
LAST_RUN = "last-run.json"
# What a worker gets from the controller and sends back to it.
TIMES_INPUT = "proof_durations"
WORKER_OUTPUT = "proof_run"

# The part of each collected test, and the seconds each test took here.
_parts = {}
_seconds = {}

# Longer than this (in the last run), a test that shares module fixtures runs
# apart from its module: its own worker sets the fixtures up once more.
ALONE_AFTER_SECONDS = 10.0
# The weight of a test no run has timed yet.
UNTIMED_SECONDS = 1.0


def _worker(config):
    return hasattr(config, "workerinput")


def _controller(config):
    return config.pluginmanager.getplugin("dsession") is not None


def _durations_file():
    from proof.paths import BUILD

    return BUILD / DURATIONS


def recorded_times():
    """``{test id: {"part": N or None, "seconds": S}}`` of the runs so far."""
    try:
        return json.loads(_durations_file().read_text())
    except (OSError, ValueError):
        return {}


def plain_id(nodeid):
    """The test's id without the ``@group`` that xdist's loadgroup adds."""
    if nodeid.rfind("@") > nodeid.rfind("]"):
        return nodeid.rsplit("@", 1)[0]
    return nodeid


def _shares_module_fixtures(item):
    """Whether the test uses a fixture of the proof's set up once per module.

    Plugins' fixtures don't count: pytest-django's class-scoped ones are
    autouse, and cost nothing outside a Django test class.
    """
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for definitions in info.name2fixturedefs.values():
        if definitions and definitions[-1].scope in ("package", "module", "class"):
            code = getattr(definitions[-1].func, "__code__", None)
            if code and Path(code.co_filename).is_relative_to(HERE):
                return True
    return False


def schedule(items, times):
    """Group the tests that share fixtures, and put the longest groups first.

    Returns ``{test id: group}`` for the tests in a group; the scheduler
    gives each group to one worker, and hands out groups and lone tests in
    the order of *items*.
    """

    def seconds(item):
        return times.get(item.nodeid, {}).get("seconds", UNTIMED_SECONDS)

    groups = {}
    for item in items:
        key = item.nodeid
        if _shares_module_fixtures(item) and seconds(item) < ALONE_AFTER_SECONDS:
            key = item.path.name
        groups.setdefault(key, []).append(item)
    ordered = sorted(groups.values(), key=lambda g: -sum(map(seconds, g)))
    items[:] = [item for group in ordered for item in group]
    return {
        item.nodeid: key
        for key, group in groups.items()
        for item in group
        if key != item.nodeid
    }


def _groups_file(controller):
    from proof.paths import BUILD

    return BUILD / f"xdist-groups-{controller}.json"


def _write_groups(path, groups):
    """Write *groups* whole: the workers all write the same, the controller reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(groups))
    os.replace(partial, path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Controller, with ``--dist loadgroup``: schedule by the workers' groups.

    xdist's own loadgroup scheduler reads ``xdist_group`` marks through a
    test id it rewrites, which this pytest no longer lets a plugin do; the
    workers write the groups to a file instead (`schedule`).
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    path = _groups_file(os.getpid())
    config.add_cleanup(lambda: path.unlink(missing_ok=True))

    @functools.cache
    def groups():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            # Called once every worker has collected, so has written the file.
            return groups().get(nodeid, nodeid)

    return GroupScheduling(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """Controller: give each worker the last run's times, read once."""
    node.workerinput[TIMES_INPUT] = recorded_times()


def pytest_runtest_logreport(report):
    _seconds[report.nodeid] = _seconds.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    config = session.config
    if _worker(config):
        config.workeroutput[WORKER_OUTPUT] = {
            "audit": config.stash.get(AUDIT_REPORT, None),
            "usage_error": config.stash.get(USAGE_ERROR, None),
            "parts": _parts,
        }
        return
    if config.stash.get(USAGE_ERROR, None):
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
    if not _STAGE and _seconds:
        this_run = {
            plain_id(nodeid): {
                "part": _parts.get(plain_id(nodeid)),
                "seconds": round(seconds, 3),
            }
            for nodeid, seconds in _seconds.items()
        }
        folder = _durations_file().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for name, times in (
                (DURATIONS, {**recorded_times(), **this_run}),
                (LAST_RUN, this_run),
            ):
                (folder / name).write_text(json.dumps(times, indent=1, sort_keys=True))
        except OSError:
            pass


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """Controller: keep what a worker that ended sent for the summaries."""
    sent = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
    if not sent:
        return
    config = node.config
    if sent["audit"]:
        config.stash[AUDIT_REPORT] = sent["audit"]
    if sent["usage_error"]:
        config.stash[USAGE_ERROR] = sent["usage_error"]
    _parts.update(sent["parts"])
