"""What the reader does in the browser in part 2 (see proof/reader.py).

Each function repeats, over real HTTP against the running development
server, a step that part 2 describes in prose, and checks what the page
says the reader sees.
"""

TITLE = "Friendly <b>people</b>"
TEXT = "I asked a question on Monday & had three answers by lunch."


def log_in_and_submit_a_testimonial(reader):
    browser = reader.browser

    page = browser.get("/testimonials/new/")
    assert "/accounts/login/?next=/testimonials/new/" in page.url, (
        f"an anonymous visitor should be sent to the login page, not {page.url}"
    )

    page = browser.log_in("admin")
    assert page.url.endswith("/testimonials/new/"), page.url

    page = browser.submit("/testimonials/new/", {"title": TITLE, "text": TEXT})
    assert page.status == 200, page.status
    assert page.contains("Thank you! Our staff will review your testimonial soon."), (
        "the thank-you message is missing"
    )


def submit_an_empty_form(reader):
    """A space in each field: the browser's `required` check lets it pass."""
    form = reader.browser.get("/testimonials/new/")
    assert form.text.count(" required") >= 2, "both fields should be required in HTML"
    page = reader.browser.submit("/testimonials/new/", {"title": " ", "text": " "})
    assert page.text.count("This field is required.") == 2, (
        "the form errors are missing"
    )
