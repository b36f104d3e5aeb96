"""What the reader has and does in part 3 (see proof/reader.py)."""


def admin_shows_the_notifications(reader):
    browser = reader.browser
    browser.submit(
        "/admin/login/?next=/admin/testimonials/testimonial/",
        {
            "username": "admin",
            "password": reader.password,
            "next": "/admin/testimonials/testimonial/",
        },
    )
    page = browser.get("/admin/testimonials/testimonial/")
    assert page.status == 200 and page.url.endswith(
        "/admin/testimonials/testimonial/"
    ), page.url
    assert page.contains("Staff notification"), "the column is missing"
    assert page.text.count("Sent to 1 staff") == 2, (
        "both notifications should read as sent"
    )
