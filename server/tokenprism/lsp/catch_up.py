"""A document's catch-up task: what an advance cannot do on the event loop — wait for a
tokenizer to load, encode a text afresh, apply edits whose window is too wide for the loop —
done in a worker thread, round after round until the tokens match the newest text and the
current settings. No LSP types here."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ..tokenization.errors import is_rust_panic, is_tokenizer_failure, one_line
from ..tokenization.incremental import TokenState

if TYPE_CHECKING:
    from .open_document import OpenDocument

log = logging.getLogger(__name__)

# More pending edits than this are cheaper as one fresh encode of the newest text
# (each edit re-encodes a window of lines around it).
MAX_EDITS_PER_ADVANCE = 256
# Edits whose re-encoded window stays within this many characters are applied on the event
# loop itself (well under a millisecond: less than handing them to a worker thread and
# back); a bigger window, a widening retry or a whole-document encode goes to a worker.
INLINE_WINDOW_CHARS = 4096


async def catch_up(doc: OpenDocument) -> None:
    """Bring ``doc``'s tokens up to its newest text, publishing a view after each round."""
    session, loop = doc.session, asyncio.get_running_loop()
    while True:
        generation = session.generation
        tokenizer = await session.tokenizer_for(doc)
        if tokenizer is None:
            return
        special = session.settings.special_tokens
        target = doc.document.snapshot
        edits, doc.pending = doc.pending, []
        reason = session.why_skip(target)
        if reason is not None:
            doc.skip(reason)
            return
        doc.skipped = None
        state = doc.state
        fresh = (
            doc.needs_full
            or state is None
            or state.tokenizer is not tokenizer
            or state.special != special
            or len(edits) > MAX_EDITS_PER_ADVANCE
        )
        if not edits and not fresh and doc.up_to_date:
            if doc.view.spec != session.view_spec(doc, tokenizer):  # another model, the same tokenizer
                doc.publish_tokens(state, target, doc.view.encoding, tokenizer, special)
            return  # nothing changed (e.g. the wanted model is still loading)
        doc.needs_full = False
        started = loop.time()
        try:
            if fresh:
                state = await loop.run_in_executor(  # the text is joined in the worker too
                    session.pool, lambda: TokenState(tokenizer, target.content, special)
                )
            else:
                applied = state.apply_edits(edits, max_window=INLINE_WINDOW_CHARS)
                if applied < len(edits):
                    await loop.run_in_executor(session.pool, state.apply_edits, edits[applied:])
            tokens = state.snapshot()  # O(blocks): fine on the event loop
            if tokens.text_length != target.length:
                raise RuntimeError("token state out of step with the text")
        except asyncio.CancelledError:
            raise
        except ValueError as exc:  # text the tokenizer refuses (lone surrogates)
            doc.skip(f"not tokenized: {exc}")
            return
        except BaseException as exc:  # a Rust panic too: the document says so and stays usable
            if not is_tokenizer_failure(exc):
                raise
            if fresh:
                log.warning("tokenizing %s with %s failed: %s", doc.uri, tokenizer.name, one_line(exc))
                cause = "the tokenizer panicked" if is_rust_panic(exc) else type(exc).__name__
                why = f"{cause}: {one_line(exc)}"
                doc.skip(f"not tokenized: {tokenizer.name} failed on this text ({why})")
                return
            log.info("tokenizing %s failed (%s); encoding it afresh", doc.uri, one_line(exc))
            doc.needs_full = True
            continue
        log.debug(
            "%s v%d: %s in %.0f ms", doc.uri, target.version,
            "encoded" if fresh else f"{len(edits)} edits", (loop.time() - started) * 1000,
        )
        doc.publish_tokens(state, target, tokens, tokenizer, special)
        target.settle_lines()
        if target.line_index is None:
            # the first count did not need the line index; positions will: scan for it (and
            # for the unit index if a line is long) now, not beside the encode, which has
            # both cores busy
            loop.run_in_executor(session.pool, target.prepare_positions)
        wanted = session.tokenizers.get(session.spec_for(doc))
        if (
            doc.document.snapshot is target
            and not doc.pending
            and not doc.needs_full
            and (wanted is None or wanted is tokenizer)
            and generation == session.generation
        ):
            if not fresh:
                doc.check.touch()
            return
