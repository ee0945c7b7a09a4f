"""The corpus's asyncio workloads (CPython 3.7+), one program per MODE.
Nothing waits on the clock (sleep(0) only), so a run is deterministic
under PYTHONHASHSEED=0.

    python wl_async.py MODE SIZE

asyncgen   (a) a wave of SIZE, then one of SIZE/4 consumers, each iterating a chain
           of three async generators: 4 x SIZE frames live at once, stepped
           round-robin by the event loop
gather     (a) waves of nested asyncio.gather: SIZE leaf coroutines under
           gathers of 10, all suspended at once, in waves of SIZE, SIZE/10, SIZE/2, SIZE/100
"""
import asyncio
import gc
import sys


async def numbers(seed, n):
    x = seed
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        await asyncio.sleep(0)
        yield x


async def evens(agen):
    async for v in agen:
        if not v & 1:
            yield v >> 1


async def running(agen, width):
    buf = []
    async for v in agen:
        buf.append(v)
        if len(buf) > width:
            del buf[0]
        yield sum(buf)


async def consume(i, n):
    total = 0
    async for s in running(evens(numbers(i, n)), 3):
        total ^= s
        if total % 97 == 0:  # a few stop early: aclose() mid-chain
            break
    return total


async def asyncgen(size):
    total = 0
    for wave, (k, n) in enumerate(((size, 2), (size // 4, 2))):
        results = await asyncio.gather(*(consume(i + wave * size, n) for i in range(k)))
        total += sum(results) & 0xFFFF
        gc.collect()
    return total


async def leaf(i):
    await asyncio.sleep(0)
    v = i * 31 % 1009
    await asyncio.sleep(0)
    return v


async def node(start, count, fan):
    if count <= fan:
        return sum(await asyncio.gather(*(leaf(start + j) for j in range(count))))
    step = count // fan
    parts = await asyncio.gather(*(node(start + j * step, step, fan) for j in range(fan)))
    return sum(parts)


async def gather(size):
    total = 0
    for n in (size, size // 10, size // 2, size // 100 or 1):
        total += await node(0, n, 10)
        gc.collect()
    return total


MODES = {"asyncgen": asyncgen, "gather": gather}

if __name__ == "__main__":
    print(asyncio.run(MODES[sys.argv[1]](int(sys.argv[2]))))
