"""The persons an import writes: their refs (and acts'), their protection, their names, and
the re-keying of an archive's older refs.

Refs are stored in the clear, so none is made from a name in a form a role could test a
guess against: each is a keyed hash under the ref key, which only the writers hold
(:mod:`sillok.security.refs`). A victim's chosen ``victim_ref`` is kept as written
(``victim:V-17``) until the victim is protected, when it becomes ``victim#{digest}``; the
files a user keeps go on matching the person, because the importer looks for both forms.

An archive made before the ref key (migration 0005 marks it) is re-keyed by the first import
a writer makes: every person's and act's ref is made anew, each change a new version of the
record, in the Merkle log and the history.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from sillok.names import is_hangul
from sillok.security.refs import CHOSEN_VICTIM, PROTECTED_VICTIM, RefKey
from sillok.security.seal import ERASED, Sealer, is_sealed
from sillok.store import imports as import_rows
from sillok.store import persons as person_rows
from sillok.store import queries
from sillok.store import rows as store_rows
from sillok.store.dialects import Dialect


def act_ref(
    refs: RefKey, source_ref: str, event_ref: str, victim: str | None, act_type: str, date: str
) -> str:
    """An act's ref: a keyed hash of what identifies it (its source, event, victim, type and
    date), so that it confirms no guess of a victim_ref; the victim counts by the keyed form
    of their ref, which protecting them does not change."""
    if victim is not None and victim.startswith(CHOSEN_VICTIM):
        victim = refs.protected_victim(victim[len(CHOSEN_VICTIM) :])
    return "act:" + refs.digest("act", source_ref, event_ref, victim or "", act_type, date)


def chosen_victim_refs(
    conn: Connection, refs: RefKey, victim_refs: Sequence[str]
) -> dict[str, str]:
    """victim_ref -> the person ref it names: ``victim#...`` once the victim is protected (or
    as an export of a protected victim writes it, ``#...``), else ``victim:...``."""
    chosen = set(victim_refs)
    keyed = {ref: refs.protected_victim(ref) for ref in chosen if not ref.startswith("#")}
    known = store_rows.by_refs(conn, "person", list(keyed.values()))
    found = {}
    for ref in chosen:
        if ref.startswith("#"):
            found[ref] = PROTECTED_VICTIM + ref[1:]
        else:
            found[ref] = keyed[ref] if keyed[ref] in known else f"{CHOSEN_VICTIM}{ref}"
    return found


def unnamed_victim_ref(refs: RefKey, raw: dict[str, str]) -> str | None:
    """The ref of a victim a row names without a victim_ref (one person per source and name)."""
    name = raw.get("victim_name_hangul") or raw.get("victim_name")
    return refs.unnamed_victim(raw["source_ref"], name) if name else None


def export_victim_ref(ref: str | None) -> str:
    """The file's victim_ref for a stored person ref: the chosen ref, ``#digest`` for a
    protected victim's, empty for a victim without one (the inverse of
    :func:`chosen_victim_refs`)."""
    if ref and ref.startswith(CHOSEN_VICTIM):
        return ref[len(CHOSEN_VICTIM) :]
    if ref and ref.startswith(PROTECTED_VICTIM):
        return "#" + ref[len(PROTECTED_VICTIM) :]
    return ""


def protect_known(
    conn: Connection, refs: RefKey, person_ids: list[int], dialect: Dialect, actor: str
) -> None:
    """Protect persons a file says are protected who were not yet, as ``protect`` does: the
    flag, a ref without the name, the names sealed and out of the index."""
    for person in store_rows.get_many(conn, "person", person_ids).values():
        changes: dict[str, Any] = {"protected": True}
        if (ref := refs.when_protected(person.ref)) != person.ref:
            changes["ref"] = ref
        store_rows.update_record(conn, "person", person, changes, actor)
        person_rows.rewrite_names(conn, dialect, person.id, lambda name: not is_sealed(name))


def opened_names(conn: Connection, sealer: Sealer, person_ids: list[int]) -> dict[int, list[str]]:
    """Each person's names, sealed ones opened: only to compare (a writer holds the seal key;
    nothing is shown, so nothing is audited). A shredded name opens as ``[erased]``."""
    return {
        pid: [
            sealer.open_value(conn, "person_names", "name", int(r.id), r.name)
            if is_sealed(r.name)
            else r.name
            for r in rows
        ]
        for pid, rows in import_rows.name_rows(conn, person_ids).items()
    }


def rekey_refs(conn: Connection, sealer: Sealer, actor: str) -> int:
    """Make every person's and act's ref anew under the ref key (an archive migrated to 0005);
    returns how many records changed. Each change is a new version, logged."""
    refs = RefKey.of(sealer, conn)
    changed = 0
    new_ref: dict[int, str] = {}
    for person in import_rows.persons_to_rekey(conn):
        opened = opened_names(conn, sealer, [int(person.id)]).get(int(person.id), [])
        ref = _person_ref(refs, person, opened)
        new_ref[int(person.id)] = ref
        if ref != person.ref:
            store_rows.update_record(conn, "person", person, {"ref": ref}, actor)
            changed += 1
    for batch in queries.act_batches(conn, 2000):
        sources = queries.sources_of_acts(conn, [a.id for a in batch])
        source_rows = store_rows.get_many(conn, "source", [min(s) for s in sources.values() if s])
        events = store_rows.get_many(conn, "event", [a.event_id for a in batch if a.event_id])
        for act in batch:
            first = min(sources.get(act.id, []), default=None)
            if first is None:
                continue
            event = events.get(act.event_id) if act.event_id else None
            ref = act_ref(
                refs,
                source_rows[first].ref,
                event.ref if event is not None else "",
                new_ref.get(act.victim_id) if act.victim_id else None,
                act.act_type,
                act.date_edtf or "",
            )
            if ref != act.ref:
                store_rows.update_record(conn, "act", act, {"ref": ref}, actor)
                changed += 1
    import_rows.refs_rekeyed(conn)
    return changed


def _person_ref(refs: RefKey, person: Any, names: list[str]) -> str:
    """A person's ref under the ref key, from their old ref and their (opened) names; a random
    one where the name that made it was shredded (nothing will match it again)."""
    ref = str(person.ref or "")
    known = [n for n in names if n != ERASED]
    first = known[0] if known else None
    if ref.startswith("informant:"):
        return refs.informant(first) if first else f"informant:{secrets.token_hex(16)}"
    if ref.startswith("victim@"):
        source = ref[len("victim@") :].rsplit(":", 1)[0]
        name = next((n for n in known if is_hangul(n)), first)
        return (
            refs.unnamed_victim(source, name)
            if name
            else f"victim@{source}:{secrets.token_hex(16)}"
        )
    if ref.startswith("perpetrator:"):
        rest = ref[len("perpetrator:") :]
        if first and rest.endswith(f":{first}"):
            source, name = rest[: -len(first) - 1], first
        else:
            source, _, name = rest.partition(":")
        return refs.perpetrator(source, name)
    if person.protected:
        return refs.when_protected(ref) or ref
    return ref
