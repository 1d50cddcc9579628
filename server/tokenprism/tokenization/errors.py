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


# -- failures of a tokenizer call ---------------------------------------------------------------
# Rust extensions (tokenizers, tiktoken) raise ``pyo3_runtime.PanicException`` when their code
# panics on some input. It derives from BaseException, not Exception, so ``except Exception``
# lets it through; and each extension has its own class of that name, so it is recognised by
# name. Callers guard tokenizer calls with ``except BaseException`` + ``is_tokenizer_failure``,
# which never swallows KeyboardInterrupt, SystemExit or GeneratorExit.


def is_rust_panic(error: BaseException | None) -> bool:
    return error is not None and any(cls.__name__ == "PanicException" for cls in type(error).__mro__)


def is_tokenizer_failure(error: BaseException) -> bool:
    """Whether ``error``, raised by a tokenizer call, is that call failing (report it, go on)."""
    return isinstance(error, Exception) or is_rust_panic(error)


def one_line(error: BaseException) -> str:
    """``error`` as one line: its message, else its class name."""
    text = " ".join(str(error).split())
    return text or type(error).__name__
