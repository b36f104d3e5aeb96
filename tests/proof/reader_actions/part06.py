"""What the reader has and does in part 6 (see proof/reader.py)."""


def make_a_tests_package(reader):
    """Replace startapp's tests.py with a tests/ package, as the page says."""
    app = reader.project / "testimonials"
    (app / "tests.py").unlink()
    (app / "tests").mkdir()
    (app / "tests" / "__init__.py").write_text("")
