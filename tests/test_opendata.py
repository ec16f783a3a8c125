"""Open data (`sillok publish data`): only what the anonymous visitor may see, made for Datasette.

The attack: whoever downloads the published file (and its metadata) holds every byte of it.
They try to read a protected field out of it. They must not find any: a canary planted in every
non-public field (confidential and internal acts' text, protected names, informants, contacts,
narratives and titles of sources, attachment names, refs, an unverified place and agency named
only by a confidential or internal act) is looked for in the raw bytes of the .db file and in
the metadata file.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.model import acts, events, persons, sources
from sillok.records.opendata import RIGHTS, OpenData, OutputExists, metadata_path
from sillok.records.statements import PublishRightNeeded
from sillok.security.policy import ANONYMOUS, READABLE, ROLES, may
from sillok.store import rows as store_rows
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, row, write_csv

yaml = pytest.importorskip("yaml")
pytest.importorskip("sqlite_utils")
pytest.importorskip("kiwipiepy")

NEEDLES = [b"qzvxkw", "큐즈브".encode(), b"vqzjpw", "뷔큐즈".encode()]
runner = CliRunner()


def _hits(blob: bytes) -> list[str]:
    data = blob.lower()
    return [n.decode() for n in NEEDLES if n in data]


def _plant(archive: Archive, folder: Path) -> dict[str, int]:
    """The synthetic archive: YODOK (one public act in Hyesan), a public act at the Yodok camp
    with a named victim, a public act with a protected victim, and internal and confidential
    acts; canaries in every field the public may not see."""
    rows = [
        *YODOK,
        row(
            source_ref="S-PUB",
            source_type="testimony",
            source_date="2016",
            event_ref="E-PUB",
            event_title="요덕 구금",
            act_type="arbitrary_detention",
            act_date="2012",
            place="요덕",
            facility="kwanliso",
            victim_name="Pak Yong-ho",
            victim_name_hangul="박영호",
            victim_sex="male",
            perpetrator_org="보위부",
            description="요덕수용소에 수감되었다",
            sharing="public",
        ),
        row(
            source_ref="S-QZVXKW-public",
            source_type="testimony",
            informant="Qzvxkwinformant Alpha",
            event_ref="E-QZVXKW-ref",
            event_title="Qzvxkwevent title of an internal event",
            act_type="torture",
            act_date="2011",
            place="Hyesan",
            victim_ref="V-QZVXKW-ref",
            victim_name="Vqzjpwprotected Kim",
            victim_name_hangul="뷔큐즈보호",
            victim_birth="1961",
            victim_sex="female",
            perpetrator_name="Qzvxkwperpetrator Ri",
            description="Beaten at the Hyesan police station",
            sharing="public",
            protected="victim; perpetrator 1",
        ),
        row(
            source_ref="S-QZVXKW-internal",
            source_type="interview",
            act_type="forced_labour",
            place="큐즈브마을",
            victim_name="Qzvxkwinternal Victim",
            victim_name_hangul="큐즈브피해자",
            description="Qzvxkw internal description 큐즈브내부",
            sharing="internal",
        ),
        row(
            source_ref="S-QZVXKW-confidential",
            source_type="interview",
            informant="Qzvxkwconfidential Informant",
            act_type="torture",
            place="큐즈브골",
            victim_name="Qzvxkwconfidential Victim",
            perpetrator_name="Qzvxkwconfidential Perpetrator",
            perpetrator_org="큐즈브보위대",
            description="Qzvxkw confidential description 큐즈브기밀",
            sharing="confidential",
        ),
    ]
    archive.ingest.run(write_csv(folder / "planted.csv", rows))
    with archive.store.reading() as conn:
        source = conn.execute(select(sources).where(sources.c.ref == "S-QZVXKW-public")).one()
        hyesan = conn.execute(select(events).where(events.c.ref == "E-002")).one()
        act_id, victim = conn.execute(
            select(acts.c.id, acts.c.victim_id).where(
                acts.c.act_type == "torture", acts.c.sharing == "public"
            )
        ).one()
        assert conn.execute(select(persons.c.protected).where(persons.c.id == victim)).scalar()
    archive.protection.add_contact(source.informant_id, "phone", "+82-10-Qzvxkw-5555")
    archive.protection.add_contact(victim, "email", "qzvxkw@example.org")
    with archive.store.transaction() as conn:
        store_rows.update_record(
            conn,
            "source",
            source,
            {"narrative": "Qzvxkwnarrative 큐즈브진술", "title": "Qzvxkwtitle of a source"},
            "owner",
        )
        # a public event: its title and description are the public's
        store_rows.update_record(
            conn, "event", hyesan, {"sharing": "public", "description": "혜산 공개처형"}, "owner"
        )
    evidence = folder / "qzvxkw-evidence-name.txt"
    evidence.write_text("Qzvxkw evidence content", encoding="utf-8")
    archive.attachments.attach("act", act_id, evidence)
    return {"act": act_id}


def _publish(archive: Archive, output: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("with_names", True)  # the canaries must stay out even when naming
    return OpenData(archive.vault, archive.records).publish(output, **kwargs)


def _query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The planted archive (SQLCipher), published once for the module."""
    folder = tmp_path_factory.mktemp("opendata")
    with Archive.create(folder / "archive", PASSPHRASE, settings=FAST) as archive:
        _plant(archive, folder)
        _publish(archive, folder / "open.db")
    yield folder / "open.db"


def test_no_canary_reaches_the_open_data(archive: Archive, tmp_path: Path) -> None:
    _plant(archive, tmp_path)
    # the archive knows the non-public place and agency: the file must not
    assert archive.organizations.resolve("큐즈브보위대") is not None
    assert archive.places.resolve("큐즈브골") is not None
    report = _publish(archive, tmp_path / "open.db")
    assert report.counts["acts"] == 3
    db, meta = tmp_path / "open.db", tmp_path / "open.metadata.yml"
    assert sorted(p.name for p in tmp_path.glob("open*")) == ["open.db", "open.metadata.yml"]
    assert _hits(db.read_bytes()) == []
    assert _hits(meta.read_bytes()) == []
    # the public records are there, and the check above reads a file that holds text
    assert b"Pak Yong-ho" in db.read_bytes()
    assert "요덕수용소에 수감되었다".encode() in db.read_bytes()


def test_public_records_are_present_with_their_labels_in_korean_and_english(
    published: Path,
) -> None:
    acts = _query(
        published,
        "SELECT t.label_ko, t.label_en, a.date, p.name_ko, p.name_en, v.label, v.named "
        "FROM acts a JOIN act_types t ON t.key = a.act_type "
        "LEFT JOIN places p ON p.id = a.place_id LEFT JOIN persons v ON v.id = a.victim_id "
        "ORDER BY a.id",
    )
    assert [(ko, en) for ko, en, *_ in acts] == [
        ("공개처형", "Public execution"),
        ("자의적 구금", "Arbitrary detention"),
        ("고문", "Torture"),
    ]
    assert acts[1][5] == "Pak Yong-ho / 박영호" and acts[1][6] == 1
    # the protected victim is a pseudonym and nothing more
    protected = _query(
        published,
        "SELECT v.label, v.pseudonym, v.named, v.sex, v.birth, v.names FROM acts a "
        "JOIN persons v ON v.id = a.victim_id WHERE a.act_type = 'torture'",
    )
    ((label, pseudonym, named, sex, birth, names),) = protected
    assert label == pseudonym and pseudonym.startswith("person-")
    assert (named, sex, birth, names) == (0, None, None, None)
    # the public event is published, the internal one is not; ids are renumbered
    assert _query(published, "SELECT id, title, description FROM events") == [
        (1, "Public execution in Hyesan", "혜산 공개처형")
    ]
    assert _query(published, "SELECT count(*) FROM sources")[0][0] == 3
    tables = {r[0] for r in _query(published, "SELECT name FROM sqlite_master")}
    assert not tables & {"attachments", "person_contacts", "audit_events", "users"}
    vocab = _query(published, "SELECT label_ko, label_en FROM facility_types WHERE key='kwanliso'")
    assert vocab == [("관리소", "Political prison camp (kwanliso)")]
    fks = _query(published, 'SELECT "table", "from", "to" FROM pragma_foreign_key_list(?)', "acts")
    assert ("act_types", "act_type", "key") in fks and ("persons", "victim_id", "id") in fks
    meta = yaml.safe_load(metadata_path(published).read_text("utf-8"))
    assert meta["title"] and meta["description"] and meta["license"] == "CC BY 4.0"
    assert meta["source"] and meta["license_url"].startswith("https://")
    assert meta["databases"]["open"]["tables"]["acts"]["label_column"] == "act_type"


def _datasette(db: Path, *paths: str) -> list[Any]:
    """GET each path from Datasette serving ``db`` with its metadata, in-process."""
    datasette = pytest.importorskip("datasette.app")

    async def run() -> list[Any]:
        metadata = yaml.safe_load(metadata_path(db).read_text("utf-8"))
        ds = datasette.Datasette([str(db)], metadata=metadata)
        await ds.invoke_startup()
        out = []
        for path in paths:
            response = await ds.client.get(path)
            assert response.status_code == 200, (path, response.text)
            out.append(response.json())
        return out

    return asyncio.run(run())


def _search(table: str, query: str) -> str:
    return f"/open/{table}.json?_search={quote(query)}&_shape=array&_labels=on"


def test_datasette_finds_two_syllable_korean_words_and_latin_spellings(published: Path) -> None:
    yodok, prison, execution, latin, rr, person, nothing = _datasette(
        published,
        _search("acts", "요덕"),  # inside 요덕수용소에
        _search("acts", "수감"),  # inside 수감되었다
        _search("acts", "처형"),  # inside 공개처형 (the act type's Korean label)
        _search("acts", "Yodok"),
        _search("acts", "yodeok"),
        _search("persons", "Pak Yong-ho"),
        _search("acts", "qzvxkw"),
    )
    assert [a["description"] for a in yodok] == ["요덕수용소에 수감되었다"]
    assert [a["description"] for a in prison] == ["요덕수용소에 수감되었다"]
    assert [a["act_type"]["value"] for a in execution] == ["public_execution"]
    assert [a["description"] for a in latin] == ["요덕수용소에 수감되었다"]
    assert [a["description"] for a in rr] == ["요덕수용소에 수감되었다"]
    assert yodok[0]["act_type"]["label"] == "Arbitrary detention (자의적 구금)"
    assert yodok[0]["victim_id"]["label"] == "Pak Yong-ho / 박영호"
    assert [p["name_hangul"] for p in person] == ["박영호"]
    assert nothing == []


def test_metadata_is_what_datasette_shows(published: Path) -> None:
    (about,) = _datasette(published, "/-/metadata.json")
    assert about["license"] == "CC BY 4.0" and about["title"] == "Sillok open data"


# --- refusals: a named error, and nothing written ---------------------------------------------


def test_no_such_archive_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    output = tmp_path / "open.db"
    result = runner.invoke(
        app,
        ["publish", "data", str(tmp_path / "missing"), "--output", str(output)],
        env={"SILLOK_PASSPHRASE": PASSPHRASE},
    )
    assert result.exit_code == 2
    assert "no such archive" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_kept_without_force(sqlcipher_archive: Archive, tmp_path: Path) -> None:
    output = tmp_path / "open.db"
    output.write_bytes(b"earlier")
    with pytest.raises(OutputExists, match="open.db exists: use --force"):
        _publish(sqlcipher_archive, output)
    assert output.read_bytes() == b"earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["archive", "open.db"]
    metadata_path(output).write_text("mine", encoding="utf-8")
    output.unlink()
    with pytest.raises(OutputExists, match="open.metadata.yml exists"):
        _publish(sqlcipher_archive, output)
    assert not output.exists()
    sqlcipher_archive.close()
    command = ["publish", "data", str(sqlcipher_archive.folder), "-o", str(output)]
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    result = runner.invoke(app, command, env=env)
    assert result.exit_code == 2 and "open.metadata.yml exists: use --force" in result.stderr
    assert not output.exists()
    assert metadata_path(output).read_text("utf-8") == "mine"
    result = runner.invoke(app, [*command, "--force", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert '"acts": 0' in result.stdout
    assert _query(output, "SELECT count(*) FROM act_types")[0][0] > 30
    assert "Sillok open data" in metadata_path(output).read_text("utf-8")


def test_only_roles_with_the_publish_rights_may_publish(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    refused = [r for r in ROLES if not all(may(r, right) for right in RIGHTS)]
    allowed = [r for r in ROLES if r not in refused]
    assert refused and allowed  # the policy gives the right to some roles, not all
    for role in ROLES:
        sqlcipher_archive.users.add(f"u{role}", role, f"the {role} passphrase for publishing")
    folder = sqlcipher_archive.folder
    sqlcipher_archive.close()
    for role in refused:
        output = tmp_path / f"{role}.db"
        with Archive.open(
            folder, f"the {role} passphrase for publishing", settings=FAST, user=f"u{role}"
        ) as opened, pytest.raises(PublishRightNeeded, match=f"the {role} role may not"):
            _publish(opened, output)
        assert not output.exists() and not metadata_path(output).exists()
        result = runner.invoke(
            app,
            ["--user", f"u{role}", "publish", "data", str(folder), "-o", str(output)],
            env={"SILLOK_PASSPHRASE": f"the {role} passphrase for publishing"},
        )
        assert result.exit_code == 2 and "may not publish open data" in result.stderr
        assert not output.exists() and not metadata_path(output).exists()
    assert [p for p in tmp_path.iterdir() if p.name != "archive"] == []
    for role in allowed:
        with Archive.open(
            folder, f"the {role} passphrase for publishing", settings=FAST, user=f"u{role}"
        ) as opened:
            _publish(opened, tmp_path / f"{role}.db")
        assert (tmp_path / f"{role}.db").is_file()


def test_by_default_no_one_is_named_and_with_names_only_the_publicly_named(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    sqlcipher_archive.ingest.run(write_csv(tmp_path / "yodok.csv", YODOK))
    sqlcipher_archive.close()
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    folder = str(sqlcipher_archive.folder)
    for flags, output in ((["--with-names"], "named.db"), ([], "pseudonyms.db")):
        result = runner.invoke(
            app, ["publish", "data", folder, "-o", str(tmp_path / output), *flags], env=env
        )
        assert result.exit_code == 0, result.output
        assert "datasette" in result.stdout
    named = _query(tmp_path / "named.db", "SELECT label, named, sex FROM persons")
    assert named == [("Ri Chol-su", 1, "male")]
    pseudonymous = _query(tmp_path / "pseudonyms.db", "SELECT label, named, sex FROM persons")
    ((label, flag, sex),) = pseudonymous
    assert label.startswith("person-") and flag == 0 and sex == "male"
    assert b"Ri Chol-su" not in (tmp_path / "pseudonyms.db").read_bytes()
    assert b"chol" not in (tmp_path / "pseudonyms.db").read_bytes().lower()


def test_the_policy_decides_what_is_published(
    sqlcipher_archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the policy to show the anonymous visitor internal records' general fields, the
    open data would follow it (and still leave out what the policy hides): it keeps no rule
    of its own about sharing levels or field classes."""
    sqlcipher_archive.ingest.run(write_csv(tmp_path / "yodok.csv", YODOK))
    _publish(sqlcipher_archive, tmp_path / "policy.db")
    assert _query(tmp_path / "policy.db", "SELECT act_type FROM acts") == [("public_execution",)]
    readable = {**READABLE[ANONYMOUS], "internal": frozenset({"general"})}
    monkeypatch.setitem(READABLE, ANONYMOUS, readable)
    _publish(sqlcipher_archive, tmp_path / "wider.db")
    acts = _query(
        tmp_path / "wider.db",
        "SELECT a.act_type, a.description, v.label, v.named FROM acts a "
        "JOIN persons v ON v.id = a.victim_id ORDER BY a.id",
    )
    assert [a[0] for a in acts] == ["arbitrary_detention", "public_execution"]
    detention = acts[0]
    assert detention[1] is None  # a narrative field: not readable at the internal level
    assert detention[2].startswith("person-") and detention[3] == 0  # nor the victim's name
    wider = (tmp_path / "wider.db").read_bytes()
    assert "김여정".encode() not in wider and b"Kim Yo-jong" not in wider
    assert acts[1][1:] == ("공개처형을 목격했다고 증언", "Ri Chol-su", 1)
