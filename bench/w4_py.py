"""W4 sleepers, Python asyncio: n tasks each sleep a pseudo-random 0..1000
ms (the xorshift32 sequence of bench.h).  Usage: w4_py.py [n]."""
import asyncio
import resource
import sys
import time


def sleeps(n):
    x = 42
    for _ in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        yield x % 1001


async def sleeper(ms):
    await asyncio.sleep(ms / 1000)


def usage():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss


async def main(n):
    c0, rss0 = usage()
    t0 = time.perf_counter_ns()
    total = 0
    tasks = []
    for ms in sleeps(n):
        total += ms
        tasks.append(asyncio.create_task(sleeper(ms)))
    t_spawned = time.perf_counter_ns()
    await asyncio.wait(tasks)
    t1 = time.perf_counter_ns()
    c1, rss1 = usage()
    print(f"RESULT n={n} created={n} total_ms={(t1 - t0) / 1e6:.1f} "
          f"spawn_ms={(t_spawned - t0) / 1e6:.1f} cpu_ms={(c1 - c0) * 1e3:.1f} "
          f"rss_mib={rss1 / 1024:.2f} bytes_per_task={(rss1 - rss0) * 1024 / n:.1f} "
          f"sum_ms={total}")


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000000))
