"""Text hygiene shared by every adapter: repair what a tokenizer cannot take."""

from __future__ import annotations


def repair_text(text: str) -> tuple[str, bool]:
    """Return ``text`` encodable as UTF-8, and whether it had to be repaired.

    Lone surrogates (``"\\ud800"``, from broken JSON or mis-decoded bytes) cannot be encoded and
    crash the tokenizer; each becomes U+FFFD. A valid surrogate *pair* becomes its character.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"), True
    return text, False
