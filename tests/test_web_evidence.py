"""Evidence files through the web: streamed upload, byte-for-byte download, custody, roles."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.test_web_app import Site, csrf_of, login, site  # noqa: F401  (fixture)


def _work_files(site: Site) -> list[str]:  # noqa: F811
    folder = site.folder / ".web-transfer"
    return [str(p) for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_upload_on_the_page_and_download_byte_for_byte(site: Site) -> None:  # noqa: F811
    documenter = login(site.app, "documenter")
    source = site.ids["source"]
    content = os.urandom(3 * 1024 * 1024 + 17)  # more than one sealed chunk
    answer = documenter.post(
        f"/records/source/{source}/attachments",
        data={"csrf_token": csrf_of(documenter)},
        files={"file": ("면담 녹음 1.ogg", content, "audio/ogg")},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    page = documenter.get(f"/records/source/{source}").text
    digest = hashlib.sha256(content).hexdigest()
    assert digest in page and "면담 녹음 1.ogg" in page
    listed = documenter.get(f"/api/records/source/{source}/attachments").json()["attachments"]
    attachment = next(a for a in listed if a["sha256"] == digest)
    assert attachment["size"] == len(content)
    assert "blob_name" not in attachment
    got = documenter.get(f"/attachments/{attachment['id']}")
    assert got.status_code == 200 and got.content == content
    assert "attachment" in got.headers["content-disposition"]
    custody = documenter.get(f"/api/records/source/{source}/attachments").json()["attachments"]
    actions = [c["action"] for c in next(a for a in custody if a["sha256"] == digest)["custody"]]
    assert actions == ["added", "opened"]
    assert _work_files(site) == []  # nothing left in the clear
    # the sealed store holds no plaintext
    stored = b"".join(
        p.read_bytes() for p in (site.folder / "attachments").iterdir() if p.is_file()
    )
    assert content[:4096] not in stored


def test_api_upload_is_streamed_and_roles_apply(site: Site) -> None:  # noqa: F811
    act = site.ids["act_internal"]
    documenter = login(site.app, "documenter")
    content = b"%PDF-1.4 scanned document\n" + os.urandom(200_000)
    answer = documenter.post(
        f"/api/records/act/{act}/attachments?filename=scan.pdf",
        content=content,
        headers={"X-CSRF-Token": csrf_of(documenter)},
    )
    assert answer.status_code == 201, answer.text
    added = answer.json()
    assert added["sha256"] == hashlib.sha256(content).hexdigest()
    assert added["media_type"] == "application/pdf"
    viewer = login(site.app, "viewer")
    assert viewer.get(f"/api/attachments/{added['id']}").status_code == 403
    refused = viewer.post(
        f"/api/records/act/{act}/attachments?filename=x.txt",
        content=b"x",
        headers={"X-CSRF-Token": csrf_of(viewer)},
    )
    assert refused.status_code == 403
    reviewer = login(site.app, "reviewer")
    assert reviewer.get(f"/api/attachments/{added['id']}").content == content
    visitor = login(site.app, None)
    assert visitor.get(f"/api/attachments/{added['id']}").status_code == 401
    empty = documenter.post(
        f"/api/records/act/{act}/attachments?filename=e.txt",
        content=b"",
        headers={"X-CSRF-Token": csrf_of(documenter)},
    )
    assert empty.status_code == 422
    missing = documenter.post(
        "/api/records/act/999999/attachments?filename=e.txt",
        content=b"data",
        headers={"X-CSRF-Token": csrf_of(documenter)},
    )
    assert missing.status_code == 404
    assert _work_files(site) == []


def test_an_upload_past_the_limit_is_refused_and_its_partial_file_removed(
    tmp_path: Path,
) -> None:
    import asyncio

    from sillok.errors import InvalidInput
    from sillok.web.evidence import receive

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * 40

    # (form uploads write through the same writer: tests/security/test_web_bodies.py)
    for name, copy in (
        ("stream", lambda path, limit: asyncio.run(receive(chunks(), path, limit))),
    ):
        path = tmp_path / name / "upload.bin"
        path.parent.mkdir()
        assert copy(path, 120) == 120 and path.read_bytes() == b"x" * 120
        path.unlink()
        with pytest.raises(InvalidInput, match="larger than the 100 bytes"):
            copy(path, 100)
        assert not path.parent.exists()  # the partial file and its folder are gone


def test_evidence_of_a_confidential_act_only_for_roles_that_read_its_text(
    site: Site,  # noqa: F811
) -> None:
    secret_act, plain_act = site.ids["act_confidential"], site.ids["act_internal"]
    documenter = login(site.app, "documenter")
    added = {}
    for act in (secret_act, plain_act):
        content = f"photograph of act {act}\n".encode() + os.urandom(5000)
        answer = documenter.post(
            f"/api/records/act/{act}/attachments?filename=photo-{act}.jpg",
            content=content,
            headers={"X-CSRF-Token": csrf_of(documenter)},
        )
        assert answer.status_code == 201, answer.text
        added[act] = (answer.json()["id"], content)
    secret_id, secret_content = added[secret_act]
    plain_id, plain_content = added[plain_act]
    secret_digest = hashlib.sha256(secret_content).hexdigest()
    for role in ("coordinator", "reviewer"):
        client = login(site.app, role)
        for url in (f"/api/attachments/{secret_id}", f"/attachments/{secret_id}"):
            refused = client.get(url)
            assert refused.status_code == 404, (role, url, refused.status_code)
            assert secret_content[:20] not in refused.content
        page = client.get(f"/records/act/{secret_act}").text
        assert secret_digest not in page and f'href="/attachments/{secret_id}"' not in page
        listed = client.get(f"/api/records/act/{secret_act}/attachments").json()["attachments"]
        assert [a["sha256"] for a in listed if a["id"] == secret_id] == ["[redacted]"]
        assert client.get(f"/api/attachments/{plain_id}").content == plain_content
        assert f'href="/attachments/{plain_id}"' in client.get(f"/records/act/{plain_act}").text
    assert documenter.get(f"/api/attachments/{secret_id}").content == secret_content
    assert secret_digest in documenter.get(f"/records/act/{secret_act}").text
    assert _work_files(site) == []


#: a 1×1 PNG (made for this test)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _add(site: Site, act: int, filename: str, content: bytes) -> int:  # noqa: F811
    documenter = login(site.app, "documenter")
    answer = documenter.post(
        f"/api/records/act/{act}/attachments?filename={filename}",
        content=content,
        headers={"X-CSRF-Token": csrf_of(documenter)},
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_images_and_pdfs_show_in_the_browser_other_files_do_not(site: Site) -> None:  # noqa: F811
    act = site.ids["act_internal"]
    image = _add(site, act, "photo.png", PNG)
    pdf = _add(site, act, "scan.pdf", b"%PDF-1.4\n% synthetic\n%%EOF\n")
    # an HTML page and an SVG named as an image: run in the site's origin if shown inline
    disguised = _add(site, act, "photo2.png", b"<svg xmlns='http://www.w3.org/2000/svg'>"
                     b"<script>alert(1)</script></svg>")
    reviewer = login(site.app, "reviewer")
    page = reviewer.get(f"/records/act/{act}").text
    for shown_id in (image, pdf):
        assert f'href="/attachments/{shown_id}/inline"' in page
    shown = reviewer.get(f"/attachments/{image}/inline")
    assert shown.status_code == 200 and shown.content == PNG
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"].startswith("inline")
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in shown.headers["content-security-policy"]
    assert shown.headers["cache-control"] == "no-store"
    assert reviewer.get(f"/attachments/{pdf}/inline").headers["content-type"] == "application/pdf"
    refused = reviewer.get(f"/attachments/{disguised}/inline")
    assert refused.status_code == 415 and b"<script>" not in refused.content
    custody = reviewer.get(f"/api/records/act/{act}/attachments").json()["attachments"]
    actions = [c["action"] for c in next(a for a in custody if a["id"] == image)["custody"]]
    assert actions == ["added", "opened"]  # a preview is an opening like a download
    assert _work_files(site) == []


def test_a_preview_is_refused_to_roles_that_may_not_open_the_file(site: Site) -> None:  # noqa: F811
    secret = _add(site, site.ids["act_confidential"], "secret.png", PNG)
    for role in ("coordinator", "reviewer"):
        answer = login(site.app, role).get(f"/attachments/{secret}/inline")
        assert answer.status_code == 404 and PNG not in answer.content
    for role in ("viewer", "analyst"):
        assert login(site.app, role).get(f"/attachments/{secret}/inline").status_code == 403
    assert login(site.app, None).get(
        f"/attachments/{secret}/inline", follow_redirects=False
    ).status_code in (303, 401)
