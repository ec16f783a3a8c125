"""Korean text as morphemes (Kiwi), for full-text search outside the archive.

Korean writes particles and endings onto words (``요덕수용소에``, ``수감되었다``). FTS5's
``unicode61`` tokenizer keeps such a word whole, so ``요덕`` would not find it, and the trigram
tokenizer cannot match fewer than three characters. The open-data file therefore carries a
column of the text split into morphemes by Kiwi (kiwipiepy, Apache-2.0), which FTS5 indexes
word by word: ``요덕 수용소 수감``.

Only content morphemes are kept (nouns, verb and adjective stems, roots, foreign words,
numbers), and each run of nouns written as one word is also kept joined
(``공개처형을`` gives ``공개``, ``처형`` and ``공개처형``), so a compound is found whole or by
its parts. Names the archive knows (places, organizations, vocabulary terms, persons) are
added to Kiwi's dictionary first, so a place such as 요덕 is not cut into 요 + 덕, and a known
name inside a longer one is kept as well (``요덕수용소`` gives ``요덕`` too).

kiwipiepy is the ``korean`` extra (``pip install 'sillok[korean]'``); loading its model takes a
few seconds, so one analyser is kept per set of added words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sillok.errors import SillokError

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_HANGUL_WORD = re.compile(r"^[\uac00-\ud7a3]{2,}$")
#: Kiwi (Sejong) tags kept: nouns, verb/adjective stems, roots, foreign words, Chinese
#: characters, numbers
_KEPT = ("NN", "NR", "NP", "VV", "VA", "XR", "SL", "SH", "SN")
_NOUN = ("NN", "NR", "NP", "XR")


class KoreanPartMissing(SillokError):
    """kiwipiepy (the ``korean`` extra) is not installed."""


def dictionary_words(names: Iterable[str]) -> frozenset[str]:
    """The Hangul words among ``names`` (each name split at spaces and punctuation) of two
    syllables or more: the words to add to Kiwi's dictionary."""
    words = set()
    for name in names:
        for word in re.split(r"[^\uac00-\ud7a3]+", name or ""):
            if _HANGUL_WORD.match(word) and len(word) <= 12:
                words.add(word)
    return frozenset(words)


class Morphemes:
    """Splits Korean text into the morphemes a search should find."""

    def __init__(self, words: frozenset[str] = frozenset()) -> None:
        self.words = words
        self.kiwi = _kiwi(words)

    def tokens(self, text: str | None) -> list[str]:
        """The content morphemes of ``text`` and the joined runs of nouns, in order, each once
        (empty for text without Hangul)."""
        if not text or not _HANGUL.search(text):
            return []
        out: dict[str, None] = {}
        run: list[str] = []
        previous_end = -1
        for token in self.kiwi.tokenize(text):
            tag = str(token.tag)
            if tag.startswith(_NOUN) and _HANGUL.match(token.form):
                if run and token.start != previous_end:
                    _close(run, out)
                run.append(token.form)
                previous_end = token.start + token.len
            else:
                _close(run, out)
            if tag.startswith(_KEPT):
                out.setdefault(token.form.lower(), None)
            if tag.startswith(_NOUN) and len(token.form) > 2:
                for part in self._known_parts(token.form):
                    out.setdefault(part, None)
        _close(run, out)
        return list(out)

    def _known_parts(self, noun: str) -> list[str]:
        """The added words inside a longer noun (``요덕`` in ``요덕수용소``, itself an added
        name), so that the part is found as well as the whole."""
        return [
            noun[i:j]
            for i in range(len(noun) - 1)
            for j in range(i + 2, len(noun) + (i > 0))
            if noun[i:j] in self.words
        ]

    def text(self, *texts: str | None) -> str:
        """The morphemes of every text, space-separated (what the search column holds)."""
        seen: dict[str, None] = {}
        for text in texts:
            for token in self.tokens(text):
                seen.setdefault(token, None)
        return " ".join(seen)


def _close(run: list[str], out: dict[str, None]) -> None:
    """Keep a run of nouns written together (``공개`` + ``처형``) joined, then start anew."""
    if len(run) > 1:
        out.setdefault("".join(run), None)
    run.clear()


@lru_cache(maxsize=1)
def _kiwi(words: frozenset[str]) -> Any:
    """A Kiwi analyser with ``words`` added as proper nouns (built once per set of words)."""
    try:
        from kiwipiepy import Kiwi
    except ImportError:
        raise KoreanPartMissing(
            "splitting Korean text into morphemes needs kiwipiepy: pip install 'sillok[korean]'"
        ) from None
    kiwi = Kiwi()
    for word in sorted(words):
        kiwi.add_user_word(word, "NNP")
    return kiwi
