"""The sandbox a chat template runs in: transformers' environment (sandboxed Jinja, its
globals and filters) with limits, since a template is code from a file or a model — time
(checked on every line of the template's code, cancellable), output size and the size of
any value it builds."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

RENDER_SECONDS = 3.0  # real templates render in milliseconds
RENDERED_CHARACTERS = 8_000_000  # the largest rendered prompt (and any string a template builds)


class RenderLimit(Exception):
    """A template went past a limit; raised inside the template's code."""


def _too_big(value) -> bool:
    return isinstance(value, (str, bytes, list, tuple)) and len(value) > RENDERED_CHARACTERS


def _size_error(value) -> RenderLimit:
    return RenderLimit(f"it builds a value of {len(value):,} items; the limit is {RENDERED_CHARACTERS:,}")


def _bounded_result(func):
    import functools

    @functools.wraps(func)  # keeps jinja's pass_context / pass_environment markers
    def bounded(*args, **kwargs):
        value = func(*args, **kwargs)
        if _too_big(value):
            raise _size_error(value)
        return value

    return bounded


def _sandbox_base():
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment


class _LazyBoundedEnvironment:
    """Built on first use so importing this module does not import jinja2."""

    cls = None

    def __call__(self, **kwargs):
        if self.cls is None:
            base = _sandbox_base()

            class Bounded(base):
                """The sandbox with ``*`` checked before it runs (``'A' * 300000000`` never
                allocates) and ``+`` / ``%`` checked after."""

                intercepted_binops = frozenset({"*", "+", "%"})

                def call_binop(self, context, operator, left, right):
                    if operator == "*":
                        for seq, times in ((left, right), (right, left)):
                            if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                                if len(seq) * times > RENDERED_CHARACTERS:
                                    raise RenderLimit(f"it repeats a value {times:,} times; the limit is "
                                                      f"{RENDERED_CHARACTERS:,} items")
                    value = super().call_binop(context, operator, left, right)
                    if _too_big(value):
                        raise _size_error(value)
                    return value

            self.cls = Bounded
        return self.cls(**kwargs)


BoundedEnvironment = _LazyBoundedEnvironment()


class RenderDeadline:
    """Stops a template's code on the thread that renders it: a trace function, set only on
    that thread and active only in the template's own frames, checks the deadline and the
    cancel flag on every line, so even a loop that emits nothing is stopped."""

    def __init__(self, seconds: float, cancelled=None):
        import time

        self.clock = time.monotonic
        self.deadline = self.clock() + seconds
        self.seconds = seconds
        self.cancelled = cancelled  # a threading.Event, or None

    def check(self) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            raise RenderLimit("rendering was cancelled")
        if self.clock() > self.deadline:
            raise RenderLimit(f"it ran longer than {self.seconds:g} s")

    def _local(self, frame, event, arg):
        self.check()
        return self._local

    def _global(self, frame, event, arg):
        if frame.f_code.co_filename == "<template>":
            self.check()
            return self._local
        return None

    def __enter__(self):
        import sys

        self.previous = sys.gettrace()
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc):
        import sys

        sys.settrace(self.previous)
        return False


def render_bounded(compiled, context: dict, seconds: float | None = None, cancelled=None) -> str:
    """Render with a deadline and an output cap: the text is collected as the template
    emits it and refused once it passes ``RENDERED_CHARACTERS``, before any tokenizer."""
    parts, size = [], 0
    with RenderDeadline(RENDER_SECONDS if seconds is None else seconds, cancelled) as deadline:
        for piece in compiled.generate(**context):
            size += len(piece)
            if size > RENDERED_CHARACTERS:
                raise RenderLimit(f"its output passes {RENDERED_CHARACTERS:,} characters")
            parts.append(piece)
            deadline.check()
    return "".join(parts)


@lru_cache(maxsize=16)
def compile_template(template: str):
    """The template compiled in the sandbox transformers uses, with the same globals."""
    import jinja2
    import jinja2.ext

    class GenerationTag(jinja2.ext.Extension):
        """``{% generation %}…{% endgeneration %}`` marks assistant text; it renders as is."""

        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

        def _render(self, caller):
            return caller()

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        # like transformers: no HTML escaping, and the options templates use
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    class TemplateNamespace(jinja2.utils.Namespace):
        def __init__(*args, **kwargs):
            self, args = args[0], args[1:]
            attrs = dict(*args, **kwargs)
            for name in attrs:
                TemplateNamespace._check(name)
            jinja2.utils.Namespace.__init__(self, attrs)

        def __setitem__(self, name, value):
            TemplateNamespace._check(name)
            jinja2.utils.Namespace.__setitem__(self, name, value)

        @staticmethod
        def _check(name):
            if isinstance(name, str) and name.startswith("_"):
                raise jinja2.exceptions.SecurityError(f"templates cannot set namespace attribute {name!r}")

    class TemplateDict:
        def __call__(self, *args, **kwargs):
            return dict(*args, **kwargs)

        def fromkeys(self, *args, **kwargs):
            return dict.fromkeys(*args, **kwargs)

    env = BoundedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.filters = {name: _bounded_result(f) for name, f in env.filters.items()}
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    env.globals["dict"] = TemplateDict()
    env.globals["namespace"] = TemplateNamespace
    compiled = env.from_string(template)
    # ``~`` compiles to the module's str_join / markup_join: bound those too
    namespace = compiled.root_render_func.__globals__
    for name in ("str_join", "markup_join"):
        if name in namespace:
            namespace[name] = _bounded_result(namespace[name])
    return compiled
