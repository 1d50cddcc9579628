"""Rendering a conversation with its template, as transformers' ``apply_chat_template``
does: the messages as templates expect them, tools, the generation prompt and the
special-token variables; every failure becomes one :class:`ChatError` line."""

from __future__ import annotations

from .messages import ChatError, ChatMessage
from .sandbox import RenderLimit, compile_template, render_bounded
from .template_files import ChatTemplate

_REASONING_FIELDS = ("reasoning_content", "thinking", "reasoning")


def template_messages(messages) -> list[dict]:
    """Messages as transformers hands them to a template: keys with None dropped, reasoning
    copied under the names templates read."""
    out = []
    for message in messages:
        data = message.data if isinstance(message, ChatMessage) else message
        data = {k: v for k, v in data.items() if v is not None}
        reasoning = next((data[k] for k in _REASONING_FIELDS if data.get(k) is not None), None)
        if reasoning is not None:
            data = {"thinking": reasoning, **data, "reasoning_content": reasoning}
        out.append(data)
    return out


def render_template(
    template: ChatTemplate, messages, special_tokens: dict[str, str], tools=None,
    add_generation_prompt: bool = True, seconds: float | None = None, cancelled=None,
) -> str:
    """The conversation as the template renders it; raises :class:`ChatError` on any failure,
    and when rendering passes ``seconds`` (default ``RENDER_SECONDS``), is cancelled
    (``cancelled``: a ``threading.Event``) or its output passes ``RENDERED_CHARACTERS``."""
    import jinja2

    try:
        compiled = compile_template(template.text)
    except jinja2.TemplateSyntaxError as exc:
        raise ChatError(f"chat template ({template.source}) line {exc.lineno}: {exc.message}") from exc
    context = dict(messages=template_messages(messages), tools=tools, documents=None,
                   add_generation_prompt=add_generation_prompt, **special_tokens)
    try:
        return render_bounded(compiled, context, seconds, cancelled)
    except RenderLimit as exc:
        raise ChatError(f"chat template ({template.source}) stopped: {exc}") from None
    except MemoryError:
        raise ChatError(f"chat template ({template.source}) stopped: out of memory") from None
    except RecursionError:
        raise ChatError(f"chat template ({template.source}) stopped: it recursed too deeply") from None
    except jinja2.TemplateError as exc:
        raise ChatError(f"chat template ({template.source}) failed: {exc}") from exc
    except Exception as exc:  # a template is code: any failure becomes one line
        raise ChatError(f"chat template ({template.source}) failed: {type(exc).__name__}: {exc}") from exc

