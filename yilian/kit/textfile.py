"""Uploaded text files (CSV imports): decoded strictly at the edge, so that a binary or mis-encoded file
is refused as a 400 problem with a Chinese title instead of failing deep inside a CSV reader."""

from __future__ import annotations

from yilian.kit.errors import BadRequest


class InvalidTextFile(BadRequest):
    code = "invalid_text_file"
    title = "文件格式不正确"


def decode_text(raw: bytes, what: str = "CSV 文件") -> str:
    """Return the text of an uploaded UTF-8 file (BOM dropped, line ends made ``\\n``), or raise
    ``InvalidTextFile`` for a binary or non-UTF-8 file."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidTextFile(f"{what}须为 UTF-8 编码的文本") from exc
    if "\x00" in text:
        raise InvalidTextFile(f"{what}不是文本文件（含二进制内容）")
    return text.replace("\r\n", "\n").replace("\r", "\n")
