"""Masking of personal identifiers in lists and logs."""

from __future__ import annotations

import logging
import re


def mask_id_number(value: str | None) -> str:
    """Mask a resident ID number, keeping the 6-digit region and the last 4: ``320602********1234``."""
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """Mask a phone number, keeping the first 3 and last 4 digits: ``138****5678``."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str:
    """Mask a person's name for public screens, keeping the surname: ``张*丰`` / ``李*``."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


_ID_IN_TEXT = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask_text(text: str) -> str:
    """Mask every resident ID number and mobile number found in free text (log lines, URLs)."""
    return _PHONE_IN_TEXT.sub(r"\1****\2", _ID_IN_TEXT.sub(r"\1********\2", text))


class MaskingFilter(logging.Filter):
    """A logging filter that masks ID numbers and phones in every record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(mask_text(a) if isinstance(a, str) else a for a in args)
        return True


def install_log_masking(*logger_names: str) -> None:
    """Attach the masking filter to the root logger's handlers and to the named loggers."""
    masking = MaskingFilter()
    for name in ("", *logger_names):
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskingFilter) for f in logger.filters):
            logger.addFilter(masking)
        for handler in logger.handlers:
            if not any(isinstance(f, MaskingFilter) for f in handler.filters):
                handler.addFilter(masking)
