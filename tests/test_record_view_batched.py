"""A record page's lists read visibility and titles in one go (``Records.visible_titles``).

The batched reader must give, for every role, what the two separate questions give:
:meth:`Records.visible` (which records the role may see, in order) and :meth:`Records.titles`
(their titles, with what the role may not read left out). A role that sees public records only
(the anonymous visitor's) shows that records the role may not see are left out, not titled.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sillok.archive import Archive
from sillok.security.policy import ANONYMOUS, ROLES
from sillok.vault import Vault
from sillok.web.access import Principal
from sillok.web.views import record_view
from tests.conftest import FAST
from tests.test_web_app import Site, build_site, password


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The YODOK archive with a user per role."""
    built = build_site(tmp_path_factory.mktemp("batched") / "archive")
    try:
        yield built
    finally:
        built.app.state.web.close()


def _all_ids() -> list[int]:
    """Every id of the small archive's records of a kind, and one that does not exist."""
    return [*range(1, 40), 10**9]


def _separately(opened: Archive, kind: str, ids: list[int], lang: str, limit: int | None) -> Any:
    seen = opened.records.visible(kind, ids)
    seen = seen[:limit] if limit is not None else seen
    titles = opened.records.titles([(kind, i) for i in seen], lang)
    return [(i, titles.get((kind, i))) for i in seen]


@pytest.mark.parametrize("role", [*ROLES, ANONYMOUS])
def test_same_as_visible_then_titles(
    site: Site, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = "viewer" if role == ANONYMOUS else role
    with Archive.open(site.folder, password(user), settings=FAST, user=user) as opened:
        if role == ANONYMOUS:
            monkeypatch.setattr(Vault, "role", property(lambda _self: ANONYMOUS))
        for kind in ("act", "source", "event", "person", "place", "organization"):
            ids = _all_ids()
            for lang in ("en", "ko"):
                for limit in (None, 1, 3):
                    expected = _separately(opened, kind, ids, lang, limit)
                    got = opened.records.visible_titles(kind, ids, lang, limit)
                    assert got == expected, (role, kind, lang, limit)


def test_a_public_only_role_sees_only_public_acts(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = site.ids
    wanted = [ids["act_internal"], ids["act_confidential"], ids["act_public"], 10**9]
    with Archive.open(site.folder, password("viewer"), settings=FAST, user="viewer") as opened:
        everything = opened.records.visible_titles("act", wanted, "en")
        assert [i for i, _t in everything] == wanted[:3]
        assert all(title for _i, title in everything)
        monkeypatch.setattr(Vault, "role", property(lambda _self: ANONYMOUS))
        public = opened.records.visible_titles("act", wanted, "en")
    assert [i for i, _t in public] == [ids["act_public"]]


@pytest.mark.parametrize("role", ROLES)
def test_record_page_lists_unchanged(site: Site, role: str) -> None:
    """A source's and a person's page list the acts the role may see, titled as before."""
    with Archive.open(site.folder, password(role), settings=FAST, user=role) as opened:
        principal = Principal(username=role, role=role)
        for kind, rid in (
            ("source", site.ids["source"]),
            ("person", site.ids["victim"]),
            ("act", site.ids["act_internal"]),
        ):
            view = record_view(opened, principal, kind, rid, lang="ko")
            name, target = ("sources", "source") if kind == "act" else ("acts", "act")
            listed = _separately(
                opened, target, list(opened.records.show(kind, rid)[name]), "ko", 50
            )
            assert view.data[name] == [i for i, _t in listed]
            assert [i for _k, i, _t in view.lists[name]] == view.data[name]
            assert view.lists[name], (role, kind)
