"""Chat documents: find the conversations in a file, render them with the model's chat
template and count the prompt the model really receives.

Three document formats, each keeping the character range of every message so a count can
be shown at the message:

- JSON: a messages array, an object with ``messages`` (an OpenAI request body), or an
  array of such objects;
- JSONL: one conversation per line (fine-tuning data);
- YAML prompt files (``*.prompt.yml``) with a top-level ``messages:``.

Rendering follows transformers' ``apply_chat_template(..., add_generation_prompt=True)``:
the same sandboxed Jinja environment, globals and special-token variables. OpenAI
encodings have no public template, so their count is the OpenAI cookbook estimate.

One module per job: ``messages`` (the data), ``detect`` (which format, if any),
``parsing`` + ``json_spans`` + ``yaml_prompts`` (reading with spans), ``template_files``,
``sandbox`` + ``render`` (bounded rendering), ``counting`` + ``message_bounds``.
"""

from .counting import (
    DOCUMENT_RENDER_SECONDS,
    OPENAI_REPLY_PRIMING,
    OPENAI_TOKENS_PER_MESSAGE,
    OPENAI_TOKENS_PER_NAME,
    ChatCount,
    DocumentCount,
    MessageCount,
    count_conversation,
    count_document,
    openai_estimate,
)
from .detect import (
    CHAT_EXTENSIONS,
    CHAT_LANGUAGES,
    JSONL_SNIFF_LINES,
    SNIFF_CHARACTERS,
    detect_chat_format,
    might_be_chat,
    not_chat_reason,
)
from .message_bounds import message_text
from .messages import FORMATS, ChatDocument, ChatError, ChatMessage, Conversation
from .parsing import LineMemo, parse_chat_document
from .render import render_template, template_messages
from .sandbox import RENDER_SECONDS, RENDERED_CHARACTERS, BoundedEnvironment, RenderDeadline, RenderLimit
from .template_files import (
    TEMPLATE_FILE_BYTES,
    TEMPLATE_TOKEN_NAMES,
    ChatTemplate,
    template_for,
    template_from_file,
    template_tokens,
)
from .yaml_prompts import YAML_EXPANDED_NODES, YAML_MAX_DEPTH

__all__ = [
    "BoundedEnvironment", "CHAT_EXTENSIONS", "CHAT_LANGUAGES", "ChatCount", "ChatDocument", "ChatError",
    "ChatMessage", "ChatTemplate", "Conversation", "DOCUMENT_RENDER_SECONDS", "DocumentCount", "FORMATS",
    "JSONL_SNIFF_LINES", "LineMemo", "MessageCount", "OPENAI_REPLY_PRIMING", "OPENAI_TOKENS_PER_MESSAGE",
    "OPENAI_TOKENS_PER_NAME", "RENDERED_CHARACTERS", "RENDER_SECONDS", "RenderDeadline", "RenderLimit",
    "SNIFF_CHARACTERS", "TEMPLATE_FILE_BYTES", "TEMPLATE_TOKEN_NAMES", "YAML_EXPANDED_NODES",
    "YAML_MAX_DEPTH",
    "count_conversation", "count_document", "detect_chat_format", "message_text", "might_be_chat",
    "not_chat_reason", "openai_estimate", "parse_chat_document", "render_template", "template_for",
    "template_from_file", "template_messages", "template_tokens",
]
