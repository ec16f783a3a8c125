"""Script injection: payloads typed into every text field never come back unescaped."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.test_web_app import Site, csrf_of, login, site  # noqa: F401  (fixture)

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "'><svg onload=alert(3)>",
    "</textarea><script>alert(4)</script>",
    "<svg><script>alert(5)</script></svg>",
    "{{7*191}}",
    "<a href=javascript:alert(6)>x</a>",
    "]]><!--<iframe src=//evil.example>",
]
#: what each payload would look like if it came back as markup
DANGEROUS = [
    "<script>alert(",
    "<img src=x",
    "<svg onload",
    "<iframe",
    "<a href=javascript",
    "1337",
]


def _assert_clean(client: TestClient, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code < 500, url
    if "text/html" in answer.headers.get("content-type", ""):
        for marker in DANGEROUS:
            assert marker not in answer.text, (url, marker)
    return answer.text


@pytest.fixture(scope="module")
def written(site: Site) -> dict[str, str]:  # noqa: F811
    """A testimony and a published statement with a payload in every text field."""
    documenter = login(site.app, "documenter")
    token = csrf_of(documenter)
    fields = {
        "source_ref": "XSS-1",
        "source_date": "2015",
        "informant": PAYLOADS[0],
        "event-0-event_title": f"xsscase {PAYLOADS[1]}",
        "act-0-0-act_type": "torture",
        "act-0-0-act_date": "2010",
        "act-0-0-place": PAYLOADS[2],
        "act-0-0-facility": PAYLOADS[4],
        "act-0-0-victim_name": f"xsscase {PAYLOADS[3]}",
        "act-0-0-victim_name_hangul": PAYLOADS[6],
        "act-0-0-victim_origin": PAYLOADS[7],
        "act-0-0-perpetrator_org": PAYLOADS[5],
        "act-0-0-perpetrator_name": PAYLOADS[0],
        "act-0-0-description": f"xsscase {' '.join(PAYLOADS)}",
    }
    answer = documenter.post(
        "/testimonies/new", data={"csrf_token": token, **fields}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    coordinator = login(site.app, "coordinator")
    token = csrf_of(coordinator)
    statement = coordinator.post(
        "/statements/new",
        data={
            "csrf_token": token,
            "title": f"Statement {PAYLOADS[0]}",
            "body": "\n\n".join(PAYLOADS),
            "language": "en",
            "date": "2024",
            "signatories": "\n".join(PAYLOADS),
        },
        follow_redirects=False,
    )
    assert statement.status_code == 303
    statement_url = statement.headers["location"]
    coordinator.post(f"{statement_url}/publish", data={"csrf_token": token})
    return {"source": answer.headers["location"], "statement": statement_url}


def test_stored_payloads_are_escaped_everywhere(site: Site, written: dict[str, str]) -> None:  # noqa: F811
    admin = login(site.app, "admin")
    source = _assert_clean(admin, written["source"])
    act_ids = re.findall(r'href="/records/act/(\d+)"', source)
    assert act_ids
    act = _assert_clean(admin, f"/records/act/{act_ids[0]}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in act  # it came through, escaped
    urls = [
        f"{written['source']}/history",
        f"/records/act/{act_ids[0]}/history",
        *(f"/records/{k}/{i}" for k, i in re.findall(r'href="/records/(\w+)/(\d+)"', act)),
        "/search?q=xsscase",
        "/search?q=" + PAYLOADS[0],
        "/search?province=" + PAYLOADS[1],
        "/search?act_type=" + PAYLOADS[3],
        "/dashboard",
        "/testimonies/new",
        "/statements",
        written["statement"],
        f"{written['statement']}/edit",
        f"{written['statement']}/history",
        "/records/act/" + PAYLOADS[0],
        "/lang/en?next=" + PAYLOADS[2],
    ]
    for url in urls:
        _assert_clean(admin, url)
    visitor = login(site.app, None)
    statement_id = written["statement"].rsplit("/", 1)[1]
    for url in ("/", "/news?language=en", "/news?kind=" + PAYLOADS[0]):
        _assert_clean(visitor, url)
    item = _assert_clean(visitor, f"/news/{statement_id}")
    assert "&lt;svg onload=alert(3)&gt;" in item  # signatory and body, escaped


def test_reflected_payloads_are_escaped(site: Site) -> None:  # noqa: F811
    visitor = TestClient(site.app)
    token = csrf_of(visitor, "/login")
    for payload in PAYLOADS:
        answer = visitor.post(
            "/login",
            data={"username": payload, "passphrase": "x", "csrf_token": token, "next": payload},
        )
        assert answer.status_code == 401
        for marker in DANGEROUS:
            assert marker not in answer.text
    documenter = login(site.app, "documenter")
    for payload in PAYLOADS:
        answer = documenter.post(
            "/testimonies/new",
            data={
                "csrf_token": csrf_of(documenter),
                "act-0-0-act_type": payload,
                "act-0-0-act_date": payload,
            },
        )
        assert answer.status_code == 422
        for marker in DANGEROUS:
            assert marker not in answer.text


def test_json_answers_are_json(site: Site, written: dict[str, str]) -> None:  # noqa: F811
    admin = login(site.app, "admin")
    answer = admin.get(f"/api{written['source']}")
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff"
