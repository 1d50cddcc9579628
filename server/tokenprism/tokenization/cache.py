"""Where TokenPrism keeps converted tokenizers and verified rank files."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """``$TOKENPRISM_CACHE_DIR`` or the platform's user cache dir, created on demand."""
    root = os.environ.get("TOKENPRISM_CACHE_DIR")
    if root:
        base = Path(root)
    else:
        from platformdirs import user_cache_dir

        base = Path(user_cache_dir("tokenprism", appauthor=False))
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
