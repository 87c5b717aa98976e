import asyncio


async def fetch(url, retries=3):
    await asyncio.sleep(0)
    body = url.upper()
    return body


class Client:
    async def get(self, path):
        async with self.session() as s:
            return await s.get(path)

    def session(self):
        raise NotImplementedError
