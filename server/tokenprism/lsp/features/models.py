"""``tokenprism/models``: every model the user could pick here, with how it would load."""

from __future__ import annotations

import asyncio

from ..catalog import list_models

METHOD = "tokenprism/models"


def register(server) -> None:
    @server.feature(METHOD)
    async def models(ls, params) -> dict:
        paths = ls.settings.search_paths()
        result = await asyncio.get_running_loop().run_in_executor(None, list_models, paths)
        result["current"] = ls.settings.model
        return result
