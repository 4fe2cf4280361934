"""The web UI's sign-in, session cookie, CSRF protection, permissions and self-hosted assets."""

from __future__ import annotations

import importlib.resources
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Route
from tests.support.web import csrf_of

from steward.auth.models import ROLES, Role
from steward.runtime import Runtime
from steward.tracking import service
from steward.tracking.models import MetricBatch
from steward.web import app as web_app
from steward.web.nav import WORKSPACES

ADMIN = ("admin", "admin-password-1")


def sign_in(client: TestClient, name: str, password: str, next_url: str = "/experiments") -> None:
    token = csrf_of(client.get("/login").text)
    resp = client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token, "next": next_url},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    assert resp.headers["location"] == next_url


def seed(runtime: Runtime) -> dict[str, str]:
    """An experiment with two runs (params, a metric history); returns ids for URLs."""
    with runtime.uow() as uow:
        exp = service.create_experiment(uow, "churn")
        ids = []
        for i in range(2):
            run = service.create_run(uow, exp.id, name=f"run-{i}", user_id="admin")
            service.log_params(uow, run.id, {"lr": f"0.{i + 1}", "depth": "4"})
            service.log_metrics(uow, run.id, MetricBatch(["loss"] * 3, [0.9, 0.5, 0.3 - i / 10], [0, 1, 2], [1, 2, 3]))
            ids.append(run.id)
        uow.commit()
    return {"experiment": str(exp.id), "run": ids[0], "other": ids[1]}


def page_urls(ids: dict[str, str]) -> list[str]:
    return [
        "/experiments",
        f"/experiments/{ids['experiment']}",
        f"/runs/{ids['run']}",
        f"/compare?run_id={ids['run']}&run_id={ids['other']}",
        *(f"/{w.slug}" for w in WORKSPACES if w.slug != "experiments"),
    ]


@pytest.fixture
def client(app) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app)


# sign-in ------------------------------------------------------------------------------------
def test_pages_redirect_to_login_when_signed_out(client: TestClient, runtime: Runtime) -> None:
    for url in page_urls(seed(runtime)):
        resp = client.get(url, follow_redirects=False)
        assert resp.status_code == 303, url
        location = urlsplit(resp.headers["location"])
        # After signing in, the user lands where they were going.
        assert (location.path, parse_qs(location.query)) == ("/login", {"next": [url]}), url


def test_bootstrap_admin_signs_in_and_gets_a_hardened_session_cookie(client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    resp = client.post(
        "/login",
        data={"name": "admin", "password": "admin-password-1", "csrf_token": token, "next": "/models"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    assert resp.headers["location"] == "/models"
    cookie = resp.headers["set-cookie"].lower()
    assert cookie.startswith(f"{web_app.SESSION_COOKIE}=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # secure_cookies is off by default (plain-HTTP loopback)
    page = client.get("/experiments")
    assert page.status_code == 200
    assert 'class="user-name"' in page.text and ">admin<" in page.text


def test_secure_cookies_setting_marks_the_cookie_secure(runtime: Runtime) -> None:
    from steward.server import bootstrap_admin, create_app

    secure = Runtime(
        runtime.settings.model_copy(update={"secure_cookies": True}), runtime.engine, runtime.uow, runtime.blobs
    )
    bootstrap_admin(secure)
    client = TestClient(create_app(secure), base_url="https://testserver")
    resp = client.get("/login")
    assert "; secure" in resp.headers["set-cookie"].lower()


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_role_signs_in(client: TestClient, tokens: dict[str, str], role: str) -> None:
    name = "admin" if role == "Admin" else role.lower().replace(" ", "-")
    password = "admin-password-1" if role == "Admin" else f"{name}-password"
    sign_in(client, name, password)
    assert f'<span class="badge role">{role}</span>' in client.get("/experiments").text


@pytest.mark.parametrize(("name", "password"), [("admin", "wrong-password"), ("nobody", "admin-password-1")])
def test_wrong_password_shows_an_error_and_signs_nobody_in(client: TestClient, name: str, password: str) -> None:
    token = csrf_of(client.get("/login").text)
    resp = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert resp.status_code == 400
    assert 'role="alert"' in resp.text and "wrong password" in resp.text
    assert f'value="{name}"' in resp.text  # the name is kept, the password is not
    assert password not in resp.text
    assert client.get("/experiments", follow_redirects=False).status_code == 303


def test_signed_in_user_visiting_login_goes_on(client: TestClient) -> None:
    sign_in(client, *ADMIN)
    resp = client.get("/login?next=/models", follow_redirects=False)
    assert (resp.status_code, resp.headers["location"]) == (303, "/models")


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"])
def test_next_never_leaves_the_site(client: TestClient, target: str) -> None:
    token = csrf_of(client.get("/login").text)
    resp = client.post(
        "/login",
        data={"name": "admin", "password": ADMIN[1], "csrf_token": token, "next": target},
        follow_redirects=False,
    )
    assert resp.headers["location"] == "/experiments"


def test_sign_out_ends_the_session(client: TestClient) -> None:
    sign_in(client, *ADMIN)
    token = csrf_of(client.get("/experiments").text)
    resp = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert (resp.status_code, resp.headers["location"]) == (303, "/login")
    assert client.get("/experiments", follow_redirects=False).status_code == 303


def test_a_disabled_user_is_signed_out_on_the_next_page(
    client: TestClient, runtime: Runtime, tokens: dict[str, str]
) -> None:
    sign_in(client, "viewer", "viewer-password")
    with runtime.uow() as uow:
        row = uow.auth.user_by_name("viewer")
        assert row is not None
        row.disabled = True
        uow.commit()
    assert client.get("/experiments", follow_redirects=False).status_code == 303


# CSRF ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_login_without_the_right_csrf_token_is_403_and_signs_nobody_in(client: TestClient, token: str | None) -> None:
    client.get("/login")  # the session (and its real token) exists
    data = {"name": "admin", "password": ADMIN[1]} | ({"csrf_token": token} if token is not None else {})
    resp = client.post("/login", data=data, follow_redirects=False)
    assert resp.status_code == 403
    assert "security token" in resp.text
    assert client.get("/experiments", follow_redirects=False).status_code == 303


def test_csrf_token_of_another_session_is_refused(app) -> None:  # type: ignore[no-untyped-def]
    other = TestClient(app)
    stolen = csrf_of(other.get("/login").text)
    client = TestClient(app)
    client.get("/login")
    resp = client.post("/login", data={"name": "admin", "password": ADMIN[1], "csrf_token": stolen})
    assert resp.status_code == 403


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_logout_without_the_right_csrf_token_is_403_and_keeps_the_session(
    client: TestClient, token: str | None
) -> None:
    sign_in(client, *ADMIN)
    resp = client.post("/logout", data={"csrf_token": token} if token else {}, follow_redirects=False)
    assert resp.status_code == 403
    assert client.get("/experiments").status_code == 200


def test_every_post_route_checks_the_csrf_token(client: TestClient) -> None:
    sign_in(client, *ADMIN)
    posts = [r for r in web_app.ROUTES if "POST" in r.methods]
    assert posts
    for route in posts:
        assert client.post(route.path, data={"csrf_token": "nope"}).status_code == 403, route.path
    assert client.get("/experiments").status_code == 200  # nothing changed


def test_a_new_session_gets_a_new_csrf_token_at_sign_in(client: TestClient) -> None:
    before = csrf_of(client.get("/login").text)
    sign_in(client, *ADMIN)
    assert csrf_of(client.get("/experiments").text) != before


# permissions ----------------------------------------------------------------------------------
def test_only_sign_in_and_assets_are_public(app) -> None:  # type: ignore[no-untyped-def]
    public = {(r.path, m) for r in web_app.ROUTES if r.permission is None for m in r.methods}
    assert public == {
        ("/static/{name:path}", "GET"),
        ("/", "GET"),
        ("/login", "GET"),
        ("/login", "POST"),
        ("/logout", "POST"),
    }
    mounted = {(r.path, m) for r in app.routes if isinstance(r, Route) for m in r.methods or ()}
    assert {(r.path, m) for r in web_app.ROUTES for m in r.methods} <= mounted


def test_every_protected_web_route_sends_strangers_to_sign_in(client: TestClient) -> None:
    protected = [r for r in web_app.ROUTES if r.permission is not None]
    assert len(protected) >= 11
    for route in protected:
        path = re.sub(r"\{[^}]+\}", "x1", route.path)
        resp = client.get(path, follow_redirects=False)
        assert resp.status_code == 303, path
        assert resp.headers["location"].startswith("/login?next="), path


def test_a_viewer_can_read_every_page(client: TestClient, runtime: Runtime, tokens: dict[str, str]) -> None:
    urls = page_urls(seed(runtime))
    sign_in(client, "viewer", "viewer-password")
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_a_page_needing_a_permission_the_role_lacks_is_403(
    client: TestClient, runtime: Runtime, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ROLES, "Viewer", Role("Viewer", ("experiments:read",)))
    ids = seed(runtime)
    sign_in(client, "viewer", "viewer-password")
    assert client.get("/experiments").status_code == 200
    for url in (f"/runs/{ids['run']}", f"/experiments/{ids['experiment']}", "/models", "/probes"):
        resp = client.get(url)
        assert resp.status_code == 403, url
        assert "does not grant" in resp.text
    nav = client.get("/experiments").text
    assert 'href="/experiments"' in nav and 'href="/models"' not in nav


def test_missing_things_are_html_404_pages(client: TestClient) -> None:
    sign_in(client, *ADMIN)
    for url in ("/runs/nope", "/experiments/999", "/experiments/abc", "/compare?run_id=a&run_id=b"):
        resp = client.get(url)
        assert resp.status_code == 404, url
        assert resp.headers["content-type"].startswith("text/html")


def test_the_session_cookie_reads_the_api_but_never_writes(client: TestClient, runtime: Runtime) -> None:
    ids = seed(runtime)
    sign_in(client, *ADMIN)
    assert client.get(f"/api/v1/runs/{ids['run']}/metrics/loss").status_code == 200
    assert client.post("/api/v1/experiments", json={"name": "by-cookie"}).status_code == 401


# assets and external URLs -------------------------------------------------------------------
class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data", "formaction") and value is not None:
                self.urls.append((tag, name, value))


def _same_origin(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return parts.scheme in ("http", "https") and parts.netloc == "testserver"
    return not url.startswith("//")


def test_no_page_references_an_external_url(client: TestClient, runtime: Runtime) -> None:
    ids = seed(runtime)
    pages = {"/login": client.get("/login").text}
    sign_in(client, *ADMIN)
    pages |= {url: client.get(url).text for url in page_urls(ids)}
    pages["/runs/nope"] = client.get("/runs/nope").text
    pages["/docs"] = client.get("/docs").text
    for url, html in pages.items():
        parser = _Links()
        parser.feed(html)
        assert parser.urls, url
        external = [u for u in parser.urls if not _same_origin(u[2])]
        assert not external, f"{url} references {external}"
        assert "cdn" not in html.lower(), url


def test_pages_carry_a_strict_content_security_policy(client: TestClient) -> None:
    resp = client.get("/login")
    csp = resp.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["cache-control"] == "no-store"


def test_plotly_js_is_served_from_the_installed_plotly_package(client: TestClient, runtime: Runtime) -> None:
    ids = seed(runtime)
    sign_in(client, *ADMIN)
    html = client.get(f"/runs/{ids['run']}").text
    src = re.search(r'<script src="(/static/vendor/plotly\.min\.js\?v=[^"]+)"', html)
    assert src, "the run page does not load Plotly from /static/vendor"
    expected = (importlib.resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()

    plain = client.get(src.group(1), headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert plain.content == expected
    assert plain.headers["content-type"].startswith("text/javascript")
    assert "immutable" in plain.headers["cache-control"] and "max-age=31536000" in plain.headers["cache-control"]

    zipped = client.get(src.group(1), headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == expected  # httpx decodes; the wire carried the gzip body
    assert int(zipped.headers["content-length"]) < len(expected) // 2

    again = client.get(src.group(1), headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304


def test_static_assets_refuse_unknown_names_and_traversal(client: TestClient) -> None:
    for name in ("nope.css", "..%2Ftemplates%2Fbase.html", "..%2Fapp.py", "vendor/plotly.js", "templates/base.html"):
        assert client.get(f"/static/{name}").status_code == 404, name
    css = client.get("/static/steward.css")
    assert css.status_code == 200 and css.headers["cache-control"] == "no-cache"  # unversioned URL
