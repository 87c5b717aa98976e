import asyncio
from typing import NoReturn


async def fetch(url: str, retries: int = 3) -> str:
    await asyncio.sleep(0)
    body: str = url.upper()
    return body


class Client:
    async def get(self, path: str) -> bytes:
        async with self.session() as s:
            return await s.get(path)

    def session(self) -> NoReturn:
        raise NotImplementedError
