"""Where tests leave lines for the run's summary (read by tests/conftest.py).

A module of its own, with nothing to import but pytest: the release passes
read it without the site's packages (docutils) that proof.audit needs.
"""

import pytest

# test_site.py's per-page counts of the audit.
AUDIT_REPORT = pytest.StashKey[list]()
