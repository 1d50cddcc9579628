"""Load errors that name the spec and the reason in one line."""

from __future__ import annotations

from enum import Enum


class Reason(str, Enum):
    NOT_FOUND = "not found"
    OFFLINE = "offline"
    CORRUPT = "corrupt"
    UNSUPPORTED = "unsupported"
    INVALID = "invalid spec"


class TokenizerLoadError(Exception):
    def __init__(self, spec: str, reason: Reason, detail: str):
        self.spec = spec
        self.reason = reason
        self.detail = " ".join(str(detail).split())  # one line, always
        super().__init__(f"cannot load tokenizer '{spec}': {reason.value}: {self.detail}")
