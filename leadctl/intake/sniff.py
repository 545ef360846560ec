"""What an input holds, told from its first bytes: encoding, format, CSV delimiter.

UTF-8 (with or without a byte-order mark) is read as it is; UTF-16 with a BOM
(Excel's "Unicode text") is transcoded to UTF-8 on the fly, so every reader
downstream sees UTF-8 bytes and keeps streaming.
"""

from __future__ import annotations

import codecs
import io
from typing import BinaryIO

from ..errors import LeadctlError

DELIMITERS = (",", ";", "\t", "|")


class _Utf16AsUtf8(io.RawIOBase):
    """A UTF-16 byte stream read as UTF-8 bytes, chunk by chunk."""

    def __init__(self, raw: BinaryIO, encoding: str):
        self.raw = raw
        self.decoder = codecs.getincrementaldecoder(encoding)(errors="surrogatepass")
        self.pending = b""
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending and not self.done:
            chunk = self.raw.read(65536)
            try:
                text = self.decoder.decode(chunk or b"", final=not chunk)
            except UnicodeDecodeError as exc:
                from . import IntakeError

                raise IntakeError(f"cannot decode the input as UTF-16 ({exc.reason}); save it as UTF-8") from None
            self.done = not chunk
            self.pending = text.encode("utf-8", "surrogatepass")
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


def decoded(stream: BinaryIO) -> tuple[io.BufferedReader, str]:
    """The stream as UTF-8 bytes that can be peeked at, and the text encoding to read it with."""
    if not hasattr(stream, "peek"):
        stream = io.BufferedReader(stream)  # type: ignore[arg-type]
    bom = stream.peek(4)[:2]
    if bom in (b"\xff\xfe", b"\xfe\xff"):
        stream.read(2)
        encoding = "utf-16-le" if bom == b"\xff\xfe" else "utf-16-be"
        return io.BufferedReader(_Utf16AsUtf8(stream, encoding)), "utf-8"
    return stream, "utf-8-sig"  # type: ignore[return-value]


def sniff_format(head: bytes) -> str:
    """"jsonl" when the input starts with an object, else "csv"; a JSON array is refused."""
    from . import IntakeError

    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        raise IntakeError(
            "input looks like a JSON array; leadctl reads JSON Lines (one object per line)"
        )
    return "jsonl" if text.startswith(b"{") else "csv"


def delimiter_of(head: bytes, encoding: str) -> str:
    """The candidate that splits the header line most often, quotes respected; `,` if none."""
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            if ch in "\r\n":
                break
            if ch in counts:
                counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties go to the earlier: `,` first
    return best if counts[best] else ","


def parse_delimiter(value: str | None) -> str | None:
    """The --delimiter option: one of , ; | tab (also written \\t or `tab`)."""
    if value is None:
        return None
    value = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(value, value)
    if value not in DELIMITERS:
        raise LeadctlError("--delimiter must be one of , ; | or tab (\\t)")
    return value
