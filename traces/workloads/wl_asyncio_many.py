"""asyncio with thousands of coroutines alive at once: a producer feeds a
queue, thousands of worker tasks each await a chain of coroutines that
suspends at every level, and they all wait on shared events, so their
frames stay live together until a barrier releases them.

    python wl_asyncio_many.py TASKS ROUNDS
"""
import asyncio
import sys


async def inner(x, gate):
    await gate.wait()
    await asyncio.sleep(0)
    return x * 2


async def middle(x, gate):
    y = await inner(x, gate)
    await asyncio.sleep(0)
    return y + 1


async def outer(x, gate, results):
    total = 0
    for step in range(2):
        total += await middle(x + step, gate)
    results.append(total)


async def consumer(queue, out):
    while True:
        item = await queue.get()
        if item is None:
            queue.task_done()
            return
        out.append(await middle(item, _OPEN))
        queue.task_done()


_OPEN = None


async def round_trip(tasks):
    global _OPEN
    _OPEN = asyncio.Event()
    _OPEN.set()
    gate = asyncio.Event()
    results = []
    # Thousands of tasks, each three coroutine frames deep, all suspended
    # on the gate at the same time.
    workers = [asyncio.ensure_future(outer(i, gate, results)) for i in range(tasks)]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(*workers)
    # Then a queue served by a pool of consumers.
    queue = asyncio.Queue()
    out = []
    consumers = [asyncio.ensure_future(consumer(queue, out)) for _ in range(64)]
    for i in range(tasks // 3):
        await queue.put(i)
    for _ in consumers:
        await queue.put(None)
    await queue.join()
    await asyncio.gather(*consumers)
    return sum(results) + sum(out)


def main():
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    total = 0
    for _ in range(rounds):
        total += asyncio.run(round_trip(tasks))
    print(total)


if __name__ == "__main__":
    main()
