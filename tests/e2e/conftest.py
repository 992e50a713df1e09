import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def browser(app):
    """The console in-process as a browser sees it: over HTTPS (its cookie is Secure)."""
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c
