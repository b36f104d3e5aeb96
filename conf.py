"""Sphinx configuration for the Django Tasks tutorial.

Build from the repository root with ``-c .`` and ``docs`` as the source
directory; the Makefile does this for you.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

project = "Django Tasks: a tutorial"
author = "The Django Tasks tutorial contributors"
copyright = "2026, the Django Tasks tutorial contributors"

# The Django release whose documentation the roles link to.
django_docs_version = "6.1"

extensions = [
    "sphinx.ext.intersphinx",
    "myst_parser",
    "sphinx_copybutton",
    # Django's documentation dialect (roles, the console with its tabs).
    "djangodocs_dialect",
    # This site's own markup and the stamping the proof reads.
    "tutorial_markup",
    "stages",
    # The appendix on Django 5.2 and 6.0, from the variants' rules.
    "variant_pages",
    # A warning for :emphasize-lines: that point at blank lines.
    "emphasized_lines",
]

source_suffix = {
    ".txt": "restructuredtext",
    ".rst": "restructuredtext",
    ".md": "markdown",
}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "_inventories", "**/README.md", "**/_data"]

# Chapters follow Django's docs: a bare ``literal`` is code, not a reference.
# Content in ``.. only:: tutorial_site`` is this site's; in
# ``.. only:: django_docs``, the export to Django's docs' (tools/django_docs.py).
tags.add("tutorial_site")  # noqa: F821 (Sphinx gives conf.py its tags)

default_role = None
highlight_language = "python"
nitpicky = True

# -- Cross references --------------------------------------------------------
# The inventories live in the repository so that the build never needs the
# network. `make django-inventory` regenerates Django's from its sdist; see
# docs/_inventories/README.md.
intersphinx_mapping = {
    "django": (
        f"https://docs.djangoproject.com/en/{django_docs_version}/",
        str(ROOT / "docs" / "_inventories" / "django.inv"),
    ),
    "python": (
        "https://docs.python.org/3/",
        str(ROOT / "docs" / "_inventories" / "python.inv"),
    ),
}
# Only :doc: needs an explicit "django:" prefix (Sphinx's default).
intersphinx_timeout = 1

# -- The stages --------------------------------------------------------------
stages_dir = str(ROOT / "tutorial_project")

# -- HTML --------------------------------------------------------------------
html_theme = "furo"
html_title = "Django Tasks tutorial"
html_static_path = ["docs/_static"]
templates_path = ["docs/_templates"]
html_css_files = ["tutorial.css"]
html_js_files = ["scroll-regions.js"]
html_permalinks_icon = "#"
html_show_sourcelink = False

# Copy commands and code, never prompts or output: a line is copied only
# when it starts with one of these prompts, which are removed. A bare
# "..." is the empty line that ends a compound statement in the console.
copybutton_prompt_text = r"\$ |>>> |\.\.\. |\.\.\.$|\.\.\.\\> "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True
copybutton_remove_prompts = True
copybutton_exclude = ".linenos"

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
