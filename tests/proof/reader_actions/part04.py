"""What the reader has and does in part 4 (see proof/reader.py)."""

import re


def staff_sends_the_digest(reader):
    browser = reader.browser
    browser.log_in("admin")
    page = browser.submit("/testimonials/new/", {}, action="/digest/")
    assert page.status == 200 and page.url.endswith("/testimonials/new/"), page.url
    assert re.search(r"The digest is on its way \(task [0-9a-f-]{36}\)\.", page.text), (
        "the page does not confirm the digest"
    )
