"""/docs works without internet: Swagger UI comes from this package (api/static)."""

import re


def test_the_docs_page_loads_its_assets_from_the_api_itself(client):
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assets = [s for s in sources if s.endswith((".js", ".css", ".png"))]
    assert assets and all(s.startswith("/static/swagger-ui/") for s in assets), sources
    assert "://" not in " ".join(sources), "the page must not load anything from another host"
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200 and len(response.content) > 100, asset
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs/oauth2-redirect").status_code == 200
