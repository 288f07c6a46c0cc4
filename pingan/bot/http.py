"""One shared aiohttp client session for the senders, created on the running loop when first used."""

from __future__ import annotations

import aiohttp


class HttpClient:
    def __init__(self, session: aiohttp.ClientSession | None = None, timeout: float = 15.0) -> None:
        self._session, self._owned, self.timeout = session, session is None, timeout

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
            self._owned = True
        return self._session

    async def close(self) -> None:
        if self._owned and self._session is not None and not self._session.closed:
            await self._session.close()
