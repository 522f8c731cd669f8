"""Decoding DICOM text values with the data set's Specific Character Set.

Most text in an SR is plain ASCII; that path is one ``bytes.decode``. Everything else goes
through the Python codec named by the character set (pydicom's table of them), and ISO 2022
code extensions (escape sequences) through ``pydicom.charset.decode_bytes``.
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache

from pydicom.charset import decode_bytes, python_encoding

_ESC = 0x1B


class TextDecodeError(Exception):
    """Text that is not valid in its character set; ``text`` holds it decoded with
    replacement characters so reading can go on."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(reason)
        self.text = text
        self.reason = reason


class Charset:
    """One Specific Character Set value, ready to decode with."""

    __slots__ = ("_codec", "_iso2022", "_terms", "problem")

    def __init__(self, value: str) -> None:
        terms = [_normalise(t) for t in value.split("\\")]
        if not terms or terms == [""]:
            terms = []
        self._terms = terms
        unknown = [t for t in terms if t and t not in python_encoding]
        self.problem: str | None = (
            f"unknown Specific Character Set {', '.join(repr(t) for t in unknown)}"
            if unknown
            else None
        )
        known = [t for t in terms if t in python_encoding]
        self._iso2022 = any(t.startswith("ISO 2022") for t in known)
        # The first term names the default repertoire; none (or ISO_IR 6) means ASCII, for
        # which we are lenient (see decode).
        first = known[0] if known else ""
        self._codec: str | None = (
            None if first in ("", "ISO_IR 6", "ISO 2022 IR 6") else python_encoding[first]
        )

    def decode(self, raw: bytes | str) -> str:
        """Decode and strip the padding. Raises TextDecodeError (carrying the best-effort text)
        when the bytes are not valid in the character set."""
        if isinstance(raw, str):
            return raw.rstrip(" \x00")
        raw = raw.rstrip(b" \x00")
        if raw.isascii() and _ESC not in raw:
            return raw.decode("ascii")
        if self._iso2022 and len(self._terms) > 1:
            return _decode_iso2022(
                raw, tuple(python_encoding[t] for t in self._terms if t in python_encoding)
            )
        if self._codec is None:
            # No character set (or ASCII) yet 8-bit bytes: common in real files. UTF-8 if it
            # is valid UTF-8, else Latin-1, which cannot fail.
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw.decode("latin-1")
        try:
            return raw.decode(self._codec)
        except UnicodeDecodeError as exc:
            text = raw.decode(self._codec, "replace")
            reason = f"text is not valid {self._terms[0]}: {exc.reason}"
            raise TextDecodeError(text, reason) from exc


def _decode_iso2022(raw: bytes, encodings: tuple[str, ...]) -> str:
    with warnings.catch_warnings():
        # pydicom warns (and replaces) on bytes it cannot decode; we accept its best effort.
        warnings.simplefilter("ignore")
        return decode_bytes(raw, list(encodings), set())


_TERM_FIXES = (
    (re.compile(r"^ISO[ _-]?IR[ _-]?(\d+)$"), r"ISO_IR \1"),
    (re.compile(r"^ISO[ _-]?2022[ _-]?IR[ _-]?(\d+)$"), r"ISO 2022 IR \1"),
    (re.compile(r"^UTF[ _-]?8$"), "ISO_IR 192"),
)


def _normalise(term: str) -> str:
    """Forgive the usual misspellings ("ISO-IR 100", "ISO_IR100", "UTF-8")."""
    term = term.strip().upper()
    for pattern, repl in _TERM_FIXES:
        term = pattern.sub(repl, term)
    return term


@lru_cache(maxsize=256)
def _charset_from_text(value: str) -> Charset:
    return Charset(value)


DEFAULT = Charset("")


def charset_for(raw: bytes | str | None) -> Charset:
    """The Charset for a raw (0008,0005) value; cached, as a handful of values cover all
    files."""
    if raw is None:
        return DEFAULT
    text = raw if isinstance(raw, str) else raw.decode("ascii", "replace")
    return _charset_from_text(text.strip(" \x00"))
