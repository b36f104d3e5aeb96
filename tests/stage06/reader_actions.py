"""What the reader has and does in part 6 (see proof/reader.py)."""


def before_part(reader):
    """The reader's database holds the staff account created in part 2."""
    reader.create_admin()


def make_a_tests_package(reader):
    """Replace startapp's tests.py with a tests/ package, as the page says."""
    app = reader.project / "testimonials"
    (app / "tests.py").unlink()
    (app / "tests").mkdir()
    (app / "tests" / "__init__.py").write_text("")
