"""A testimony as a documenter enters it: a source, its events, and the acts in each.

The entry form (and its JSON twin in the API) is turned into rows of the flat acts format and
written by the same importer as a file, so a testimony typed in a browser is validated,
resolved (vocabularies in any script, uncertain dates, places and agencies), versioned and
indexed exactly like an imported one. A bad value comes back with the field it belongs to and
what was typed, never lost.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sillok import vocab
from sillok.errors import InvalidInput
from sillok.messages import Message
from sillok.records.flatacts import COLUMNS, ParsedRow
from sillok.records.ingest import ImportReport

if TYPE_CHECKING:
    from sillok.archive import Archive

_SOURCE_ONLY = ("source_ref", "source_type", "source_date", "informant")
SOURCE_FIELDS = (*_SOURCE_ONLY, "sharing")
EVENT_FIELDS = ("event_ref", "event_title")
# Every other column of the flat acts format is asked per act (sharing too: an act may be
# more confidential than its source).
ACT_FIELDS = tuple(c for c in COLUMNS if c not in _SOURCE_ONLY + EVENT_FIELDS)
MAX_EVENTS = 50
MAX_ACTS = 200
MAX_VALUE = 20_000

_EVENT_KEY = re.compile(r"^event-(\d{1,3})-(\w+)$")
_ACT_KEY = re.compile(r"^act-(\d{1,3})-(\d{1,3})-(\w+)$")


@dataclass
class EventEntry:
    """One event of a testimony with its acts (values as typed)."""

    values: dict[str, str] = field(default_factory=dict)
    acts: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Testimony:
    """A testimony being entered: what was typed, and what is wrong with it."""

    source: dict[str, str] = field(default_factory=dict)
    events: list[EventEntry] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def blank(cls) -> Testimony:
        """An empty form: one event with one act."""
        return cls(events=[EventEntry(acts=[{}])])

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> Testimony:
        """Read the entry form's fields (``event-0-event_title``, ``act-0-1-act_type``...)."""
        testimony = cls(source={k: _text(form.get(k)) for k in SOURCE_FIELDS})
        events: dict[int, EventEntry] = {}
        acts: dict[tuple[int, int], dict[str, str]] = {}
        for key in form:
            if m := _EVENT_KEY.match(key):
                index, name = int(m[1]), m[2]
                if name in EVENT_FIELDS and index < MAX_EVENTS:
                    events.setdefault(index, EventEntry()).values[name] = _text(form.get(key))
            elif m := _ACT_KEY.match(key):
                index, number, name = int(m[1]), int(m[2]), m[3]
                if name in ACT_FIELDS and index < MAX_EVENTS and number < MAX_ACTS:
                    events.setdefault(index, EventEntry())
                    acts.setdefault((index, number), {})[name] = _text(form.get(key))
        for (index, _number), values in sorted(acts.items()):
            events[index].acts.append(values)
        testimony.events = [events[i] for i in sorted(events)] or [EventEntry()]
        for event in testimony.events:
            if not event.acts:
                event.acts.append({})
        return testimony

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Testimony:
        """Read the API's form: ``{"source": {...}, "events": [{..., "acts": [{...}]}]}``."""
        source = data.get("source") or {}
        if not isinstance(source, Mapping):
            raise InvalidInput("source: expected an object")
        testimony = cls(source={k: _text(source.get(k)) for k in SOURCE_FIELDS})
        raw_events = data.get("events") or []
        if not isinstance(raw_events, list) or len(raw_events) > MAX_EVENTS:
            raise InvalidInput(f"events: expected a list of at most {MAX_EVENTS} events")
        for number, raw in enumerate(raw_events):
            if not isinstance(raw, Mapping):
                raise InvalidInput(f"events[{number}]: expected an object")
            acts = raw.get("acts") or []
            if not isinstance(acts, list) or len(acts) > MAX_ACTS:
                raise InvalidInput(f"events[{number}].acts: expected a list of at most {MAX_ACTS}")
            if not all(isinstance(a, Mapping) for a in acts):
                raise InvalidInput(f"events[{number}].acts: expected objects")
            testimony.events.append(
                EventEntry(
                    values={k: _text(raw.get(k)) for k in EVENT_FIELDS},
                    acts=[{k: _text(a.get(k)) for k in ACT_FIELDS} for a in acts],
                )
            )
        return testimony

    def add_event(self) -> None:
        """One more (blank) event, with one blank act."""
        if len(self.events) < MAX_EVENTS:
            self.events.append(EventEntry(acts=[{}]))

    def add_act(self, event_index: int) -> None:
        """One more (blank) act in an event."""
        if 0 <= event_index < len(self.events) and len(self.events[event_index].acts) < MAX_ACTS:
            self.events[event_index].acts.append({})


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    if len(text) > MAX_VALUE:
        raise InvalidInput(f"a value of {len(text)} characters is longer than {MAX_VALUE}")
    return text


def _blank(values: Mapping[str, str]) -> bool:
    return not any(v for k, v in values.items() if k != "sharing")


def field_name(event: int | None, act: int | None, column: str) -> str:
    """The form field a flat acts column of one act came from."""
    if column in SOURCE_FIELDS and (column != "sharing" or act is None):
        return column
    if column in EVENT_FIELDS:
        return f"event-{event}-{column}"
    return f"act-{event}-{act}-{column}"


class TestimonyDesk:
    """Checks and writes testimonies for one archive, on behalf of one user."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    def rows(self, testimony: Testimony) -> list[tuple[tuple[int, int], dict[str, str]]]:
        """The flat acts rows of a testimony, each with its (event, act) position."""
        source_ref = testimony.source.get("source_ref") or _new_ref("W")
        testimony.source["source_ref"] = source_ref
        rows = []
        for e, event in enumerate(testimony.events):
            event_ref = event.values.get("event_ref") or ""
            if not event_ref and (event.values.get("event_title") or not _blank_event(event)):
                event_ref = f"{source_ref}-E{e + 1}"
                event.values["event_ref"] = event_ref
            for a, act in enumerate(event.acts):
                if _blank(act):
                    continue
                row = {c: "" for c in COLUMNS}
                row.update({k: v for k, v in testimony.source.items() if v})
                row.update(
                    {"event_ref": event_ref, "event_title": event.values.get("event_title", "")}
                )
                row.update({k: v for k, v in act.items() if v})
                rows.append(((e, a), row))
        return rows

    def check(self, testimony: Testimony) -> list[tuple[tuple[int, int], ParsedRow]]:
        """Validate; fills ``testimony.errors`` (field name -> message) and returns the rows."""
        importer = self.archive.ingest
        testimony.errors.clear()
        rows = self.rows(testimony)
        if not rows:
            testimony.errors["form"] = Message("enter at least one act (its act type is required)")
        for e, event in enumerate(testimony.events):
            if event.values.get("event_title") and all(_blank(a) for a in event.acts):
                testimony.errors[f"event-{e}-event_title"] = Message("this event has no act yet")
        parsed = []
        for number, ((e, a), raw) in enumerate(rows, start=1):
            result = importer.parse_row(number, raw)
            if isinstance(result, list):
                for error in result:
                    name = field_name(e, a, error.column)
                    testimony.errors.setdefault(name, error.reason)
            else:
                parsed.append(((e, a), result))
        return parsed

    def write(self, testimony: Testimony) -> tuple[int, ImportReport]:
        """Check and write a testimony; (source id, import report).

        Raises:
            InvalidInput: when a value is bad (``testimony.errors`` then names each field).
        """
        self.check(testimony)
        if testimony.errors:
            raise InvalidInput("; ".join(f"{k}: {v}" for k, v in testimony.errors.items()))
        rows = self.rows(testimony)
        ref = testimony.source["source_ref"]
        report = self.archive.ingest.run_rows(
            ((n, raw) for n, (_pos, raw) in enumerate(rows, start=1)), f"testimony {ref}"
        )
        return self.archive.records.id_of("source", ref), report


def _blank_event(event: EventEntry) -> bool:
    return all(_blank(a) for a in event.acts)


def _new_ref(prefix: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return f"{prefix}-{stamp}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Picker:
    """A vocabulary picker: the id of its datalist and its options (value, hint)."""

    id: str
    options: list[tuple[str, str]]


def pickers(archive: Archive, lang: str) -> list[Picker]:
    """Datalists for the entry form: act types, facility types, agencies, places.

    The server accepts any spelling (Hangul, English, romanized) whatever the list offers;
    the list only helps typing.
    """
    other = "en" if lang == "ko" else "ko"

    def terms(name: str) -> list[tuple[str, str]]:
        return [
            (t.label(lang), t.label(other))
            for t in vocab.load(name).terms
            if not t.deprecated and t.extra.get("level") != "category"
        ]

    def entries(directory: Any) -> list[tuple[str, str]]:
        found = []
        for entry in directory.by_id.values():
            first = (entry.name_ko if lang == "ko" else entry.name_en) or entry.label
            second = (entry.name_en if lang == "ko" else entry.name_ko) or ""
            found.append((first, second))
        return sorted(set(found))

    return [
        Picker("act-types", terms("act_types")),
        Picker("facility-types", terms("facility_types") + entries(_facilities(archive))),
        Picker("agencies", entries(archive.organizations)),
        Picker("places", entries(_places(archive))),
    ]


class _Filtered:
    def __init__(self, by_id: dict[int, Any]) -> None:
        self.by_id = by_id


def _facilities(archive: Archive) -> _Filtered:
    return _Filtered({i: e for i, e in archive.places.by_id.items() if e.kind == "facility"})


def _places(archive: Archive) -> _Filtered:
    return _Filtered({i: e for i, e in archive.places.by_id.items() if e.kind != "facility"})
