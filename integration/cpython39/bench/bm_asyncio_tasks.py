"""An asyncio workload: a tree of tasks gathered level by level, each leaf
awaiting a chain of coroutines that yield to the loop."""
import asyncio

import pyperf


async def leaf(n):
    if n == 0:
        await asyncio.sleep(0)
        return 1
    return 1 + await leaf(n - 1)


async def node(depth):
    if depth == 0:
        return await leaf(6)
    results = await asyncio.gather(*(node(depth - 1) for _ in range(4)))
    return sum(results)


def run(depth):
    return asyncio.run(node(depth))


if __name__ == "__main__":
    pyperf.Runner().bench_func("asyncio_tasks", run, 4)
