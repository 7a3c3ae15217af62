"""Which language a reply is in: the one rule every surface and the service share."""

from __future__ import annotations

from bot.advisor.analysis import language_of


def reply_language(text: str, locale: object = None) -> str:
    """The language to answer `text` in: its own, or the user's `locale` when the text has no
    words to tell (a button click, a bare command); Korean when neither says."""
    if any(c.isalpha() for c in text):
        return language_of(text)
    return "en" if locale is not None and str(locale).startswith("en") else "ko"
