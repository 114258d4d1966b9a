"""W7 timeout churn, Python asyncio: 10,000 other tasks asleep 10-20 s, then
n awaits each under `asyncio.timeout(10)` on an event already set (see
w7_async.c).  Usage: w7_py.py [n]."""
import asyncio
import resource
import sys
import time


def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def main(n):
    x = 42
    others = []
    for _ in range(10000):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        others.append(asyncio.create_task(asyncio.sleep(10 + (x % 1001) / 100)))
    await asyncio.sleep(0)  # the others are asleep: their timers armed
    ready = asyncio.Event()
    ready.set()
    fired = 0
    c0, t0 = cpu(), time.perf_counter_ns()
    for _ in range(n):
        try:
            async with asyncio.timeout(10):
                await ready.wait()
        except TimeoutError:
            fired += 1
    t1, c1 = time.perf_counter_ns(), cpu()
    for t in others:
        t.cancel()
    await asyncio.gather(*others, return_exceptions=True)
    print(f"RESULT n={n} ns_per_await={(t1 - t0) / n:.2f} "
          f"awaits_per_s={n * 1e9 / (t1 - t0):.0f} cpu_ms={(c1 - c0) * 1e3:.1f} fired={fired}")
    return fired


sys.exit(1 if asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000000)) else 0)
