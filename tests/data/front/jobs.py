"""Run jobs concurrently with a limit."""

import asyncio
from dataclasses import dataclass, field


@dataclass
class Job:
    name: str
    delay: float = 0.1
    tags: list[str] = field(default_factory=list)


class Runner:
    def __init__(self, limit=4):
        self.limit = asyncio.Semaphore(limit)
        self.done = []

    async def run_one(self, job):
        async with self.limit:
            await asyncio.sleep(job.delay)
            self.done.append(job.name)
            return job.name

    async def run_all(self, jobs):
        results = await asyncio.gather(*(self.run_one(j) for j in jobs))
        return dict(zip([j.name for j in jobs], results))

    async def stream(self, jobs):
        for job in jobs:
            yield await self.run_one(job)


async def main():
    runner = Runner(limit=2)
    jobs = [Job(f"job{i}", delay=i / 10) for i in range(3)]
    async for name in runner.stream(jobs):
        print(name)
    return await runner.run_all(jobs)


if __name__ == "__main__":
    asyncio.run(main())
