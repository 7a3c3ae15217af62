"""Korean-aware text analysis with Kiwi: sentence splitting and lexical tokens."""

from __future__ import annotations

import re
import threading
from functools import cache

#: Morpheme tags kept as lexical tokens: nouns, verb/adjective stems, roots, foreign words,
#: numbers, Chinese characters and general adverbs (e.g. "가장", which matters in "가장 높은").
_CONTENT_TAGS = frozenset({"NNG", "NNP", "NR", "NP", "VV", "VA", "XR", "SL", "SH", "SN", "MAG"})
#: Tags that name things; used to judge whether a question touches the documents at all.
NOUN_TAGS = frozenset({"NNG", "NNP", "XR", "SL", "SH"})
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+#.'-]*")
#: Light verbs, copulas and pro-forms: they carry no topic and only add noise to BM25.
_STOP_STEMS = frozenset(
    [
        "하",
        "되",
        "있",
        "없",
        "같",
        "어떻",
        "않",
        "이",
        "그",
        "저",
        "것",
        "수",
        "등",
        "때",
        "보",
        "주",
        "알",
        "좋",
        "받",
        "가",
        "오",
        "위하",
        "대하",
        "통하",
    ]
)


#: Compound nouns of the domain that must always stay whole.
DOMAIN_NOUNS = (
    "콜센터",
    "컨택센터",
    "고객센터",
    "상담원",
    "최고고객책임자",
    "품질보증",
    "멀티태스킹",
)


class Tokenizer:
    """A thread-safe wrapper around one Kiwi instance."""

    def __init__(self) -> None:
        from kiwipiepy import Kiwi

        # The typo-correction and multi-word dictionaries cost three seconds of start-up
        # between them; the documents need neither.
        self._kiwi = Kiwi(load_typo_dict=False, load_multi_dict=False)
        # Kiwi splits these compounds in some contexts ("콜센터 취업" -> 콜 + 센터) and not in
        # others; one analysis everywhere keeps a word matching itself.
        for word in DOMAIN_NOUNS:
            self._kiwi.add_user_word(word, "NNG")
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[str, str], ...]] = {}
        self._kiwi.tokenize("워밍업")  # Kiwi finishes loading lazily on its first call

    def morphemes(self, text: str) -> list[tuple[str, str]]:
        """(form, tag) pairs of every morpheme."""
        return list(self._analyse(text))

    def _analyse(self, text: str) -> tuple[tuple[str, str], ...]:
        # A question is analysed several ways (phrases, nouns, tokens), and glossary phrases
        # and answer units recur across questions: analyse each text once.
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        if not text.strip():
            return ()
        with self._lock:
            tokens = self._kiwi.tokenize(text)
        result = tuple((t.form, t.tag.split("-")[0]) for t in tokens)
        if len(self._cache) > 20_000:
            self._cache.clear()
        self._cache[text] = result
        return result

    def tokens(self, text: str) -> list[str]:
        """Lexical tokens: content morphemes, Latin words lower-cased."""
        out: list[str] = []
        for form, tag in self.morphemes(text):
            if tag not in _CONTENT_TAGS or form in _STOP_STEMS:
                continue
            if tag == "SL":
                out.extend(w.lower() for w in _LATIN_WORD.findall(form))
            else:
                out.append(form)
        return out

    def nouns(self, text: str) -> list[str]:
        """Naming tokens only (nouns, roots, foreign words), Latin lower-cased."""
        return [
            form.lower() if tag == "SL" else form
            for form, tag in self.morphemes(text)
            if tag in NOUN_TAGS
        ]

    def forms(self, text: str) -> list[str]:
        """Every morpheme's surface form except punctuation (for phrase matching)."""
        return [
            form.lower() if tag == "SL" else form
            for form, tag in self.morphemes(text)
            if not tag.startswith("S") or tag in {"SL", "SN", "SH"}
        ]

    def sentences(self, text: str) -> list[str]:
        """Split prose into sentences (Kiwi understands Korean endings, not just periods)."""
        text = text.strip()
        if not text:
            return []
        with self._lock:
            sents = self._kiwi.split_into_sents(text)
        return [s.text.strip() for s in sents if s.text.strip()]


@cache
def make_tokenizer() -> Tokenizer:
    """One Kiwi per process: loading it takes about a second."""
    return Tokenizer()
