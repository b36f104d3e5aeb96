# The single entry point of the project. Every target that needs Python
# bootstraps .venv first, so a fresh clone needs nothing but `make`.
#
#   make livehtml   build the site, serve it, rebuild on every change
#   make lint       the pages' style and spelling, the Python code's style
#   make test       the lint, then the whole proof (see docs/project/testing.md)
#   make test-release RELEASE=5.2   the proof of the stages' Django 5.2 variants

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BUILD ?= _build
HOST ?= 127.0.0.1
PORT ?= 8000
# DJANGO_VERSION (for example "6.1.*") runs the proof against another 6.1
# release than the one requirements.txt pins; older releases have their
# own pass (make test-release).
DJANGO_VERSION ?=
SPHINXOPTS ?=
PYTEST_ARGS ?=
# PART=N runs only the proof of part N (make test PART=3).
PART ?=
# How many processes run the proof side by side (pytest-xdist's -n): two per
# core, as much of the proof waits on servers and workers. JOBS=0 runs it
# all in the one pytest process.
JOBS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))

PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-django$(subst *,x,$(DJANGO_VERSION))
SPHINX := $(PY) -m sphinx -c . -n -W --keep-going

# Python 3.12 or newer: PYTHON when given (and then only it), else the
# newest python3.X on PATH, then the versions pyenv has installed, then python3.
define find_python
ok() { "$$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }; \
if [ -n "$(PYTHON)" ]; then ok "$(PYTHON)" && command -v "$(PYTHON)" && exit 0; \
  echo "error: PYTHON=$(PYTHON) is not a Python 3.12 or newer." >&2; exit 1; fi; \
for c in python3.14 python3.13 python3.12 \
         $$(ls -d "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) \
         python3; do \
  if ok "$$c"; then command -v "$$c"; exit 0; fi; \
done; \
echo "error: Python 3.12 or newer is needed (Django 6 requires it), and none was found." >&2; \
echo "       Install one (python.org, your package manager or pyenv), or name one: make PYTHON=/path/to/python3.12 $(MAKECMDGOALS)" >&2; \
exit 1
endef

.PHONY: help
help: ## Show this list of targets
	@echo "Django Tasks tutorial: make TARGET"
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "} {printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): requirements.txt
	@python=$$($(find_python)) || exit 1; \
	if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	  echo "Removing $(VENV): its Python is older than 3.12."; rm -rf $(VENV); fi; \
	if [ ! -x $(PY) ]; then \
	  echo "Creating $(VENV) with $$python ($$($$python --version))"; \
	  "$$python" -m venv $(VENV) || exit 1; fi
	$(PY) -m pip install --quiet -r requirements.txt
	@# Django runs the first `black` on PATH over the files startproject and
	@# makemigrations write; a reader's environment has none, and the export
	@# uses black as a library only, so .venv keeps no black command.
	@rm -f $(VENV)/bin/black $(VENV)/bin/blackd
	@if [ -n "$(DJANGO_VERSION)" ]; then \
	  echo "Installing Django $(DJANGO_VERSION) over the pinned release"; \
	  $(PY) -m pip install --quiet "Django==$(DJANGO_VERSION)"; fi
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

.PHONY: venv
venv: $(STAMP) ## Create or update .venv from requirements.txt

.PHONY: livehtml
livehtml: $(STAMP) ## Build the site, serve it on http://127.0.0.1:8000/ and rebuild on changes
	@echo "Serving the site on http://$(HOST):$(PORT)/ (Ctrl+C stops it)"
	$(PY) -m sphinx_autobuild -c . docs $(BUILD)/html \
	  --host $(HOST) --port $(PORT) \
	  --watch tutorial_project --watch conf.py \
	  --ignore '*/db.sqlite3' --ignore '*/__pycache__/*' \
	  $(SPHINXOPTS)

.PHONY: html
html: $(STAMP) ## Build the site into _build/html; any warning is an error
	$(SPHINX) -b html docs $(BUILD)/html $(SPHINXOPTS)
	@echo "Open $(BUILD)/html/index.html"

.PHONY: lint
lint: $(STAMP) ## Check the pages' style and spelling and the Python code's style (docs/lint.py)
	$(PY) docs/lint.py

.PHONY: test
test: $(STAMP) ## Run the lint, then the whole proof (PART=N: only part N's; JOBS=N processes)
	$(PY) docs/lint.py
	PROOF_PART=$(PART) $(PY) -m pytest -c tests/pytest.ini -n $(JOBS) $(PYTEST_ARGS)

# The proof of the stages' variants for an older Django release (the
# appendix "Django 5.2 LTS and 6.0"): make test-release RELEASE=5.2, with
# PYTHON=... to choose the interpreter among the release's. Its virtual
# environment and build folder are its own, per release and Python.
RELEASE ?=
define find_tool_python
for c in python3.14 python3.13 python3.12 python3.11 python3; do \
  if "$$c" -c 'import tomllib' >/dev/null 2>&1; then command -v "$$c"; exit 0; fi; \
done; \
echo "error: Python 3.11 or newer is needed to read tutorial_project/variants/rules.toml." >&2; exit 1
endef

.PHONY: test-release
test-release: ## Prove every stage's variant for RELEASE=6.0 or 5.2 (PYTHON=...: that interpreter)
	@if [ -z "$(RELEASE)" ]; then \
	  echo "error: name the release: make test-release RELEASE=5.2 (or RELEASE=6.0)" >&2; exit 1; fi
	@tool=$$($(find_tool_python)) || exit 1; \
	python=$$("$$tool" docs/_ext/variants.py python "$(RELEASE)" $(PYTHON)) || exit 1; \
	minor=$$("$$python" -c 'import sys; print("%d%d" % sys.version_info[:2])'); \
	name=django$(subst .,,$(RELEASE))-py$$minor; venv=.venv-$$name; \
	wanted=$$("$$tool" docs/_ext/variants.py requirements "$(RELEASE)") || exit 1; \
	if [ ! -x $$venv/bin/python ] || [ "$$(cat $$venv/.requirements 2>/dev/null)" != "$$wanted" ]; then \
	  echo "Preparing $$venv with $$python ($$("$$python" --version)) for Django $(RELEASE)"; \
	  [ -x $$venv/bin/python ] || "$$python" -m venv $$venv || exit 1; \
	  echo "$$wanted" > $$venv/requirements.txt; \
	  $$venv/bin/python -m pip install --quiet -r $$venv/requirements.txt || exit 1; \
	  echo "$$wanted" > $$venv/.requirements; fi; \
	echo "Proving the Django $(RELEASE) variants with $$($$venv/bin/python -c 'import django, sys; print("Django", django.get_version(), "on Python", sys.version.split()[0])')"; \
	PROOF_RELEASE=$(RELEASE) PROOF_BUILD_DIR="$${PROOF_BUILD_DIR:-$(CURDIR)/$(BUILD)/proof-$$name}" \
	  $$venv/bin/python -m pytest -c tests/pytest.ini -n $(JOBS) $(PYTEST_ARGS)

# The tutorial as a patch for Django's docs (tools/django_docs.py):
# DJANGO_DOCS is a Django checkout; without it, the docs of Django's source
# distribution, downloaded from the package index once.
DJANGO_DOCS ?=

.PHONY: django-docs
django-docs: $(STAMP) ## Write parts 0-8 into Django's docs (DJANGO_DOCS=checkout) and a patch
	$(PY) tools/django_docs.py export $(DJANGO_DOCS)

.PHONY: django-docs-check
django-docs-check: $(STAMP) ## Export into a copy of Django's docs; run its build, lint, black, spelling
	$(PY) tools/django_docs.py check $(DJANGO_DOCS)

.PHONY: django-inventory
django-inventory: $(STAMP) ## Rebuild docs/_inventories/django.inv from Django's sdist (offline after the download)
	$(PY) docs/_inventories/build_django_inventory.py

.PHONY: bench
bench: $(STAMP) ## Time part 6's ways of testing tasks, then the proof part by part
	$(PY) tools/bench.py
	$(PY) tools/bench.py --proof --jobs $(JOBS)

.PHONY: capacity
capacity: $(STAMP) ## Measure how far one database goes, for part 8 (needs PostgreSQL)
	$(PY) tools/bench.py --capacity

.PHONY: screenshots
screenshots: $(STAMP) ## Retake part 5's screenshots into docs/tutorial/_images (needs Chromium)
	$(PY) tools/screenshots.py

.PHONY: clean
clean: ## Remove the build output and caches (keeps .venv)
	rm -rf $(BUILD) .pytest_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
	find tutorial_project -name db.sqlite3 -delete

.PHONY: distclean
distclean: clean ## Remove .venv too
	rm -rf $(VENV) .venv-*
