"""Logging in to the console in-process (the `browser` fixture of tests/e2e/conftest.py:
HTTPS, as the session cookie is Secure) and reading a page's CSRF token."""

import re

from factories import PASSWORD


def login_token(client) -> str:
    page = client.get("/console/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def log_in(client, username: str, password: str = PASSWORD, **extra):
    token = login_token(client)
    return client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": token} | extra,
        follow_redirects=False,
    )


def csrf_of(page_html: str) -> str:
    return re.search(r'"X-CSRF-Token": "([^"]+)"', page_html).group(1)
