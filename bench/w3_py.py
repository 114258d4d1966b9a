"""W3 spawn, Python asyncio: create n trivial tasks (they are all queued
before any runs, since main does not yield while creating them), then wait
until the last has finished.  Pass 2 repeats it in the same process, with
the allocator warm.  Usage: w3_py.py [n]."""
import asyncio
import resource
import sys
import time

done = 0


async def trivial(n, finished):
    global done
    done += 1
    if done == n:
        finished.set_result(None)


async def one_pass(n):
    global done
    done = 0
    t0 = time.perf_counter_ns()
    finished = asyncio.get_running_loop().create_future()
    # No list of tasks is kept: the loop holds each until it has run, after
    # which it is freed (reaped) at once.
    for _ in range(n):
        asyncio.create_task(trivial(n, finished))
    await finished
    return time.perf_counter_ns() - t0


def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def main(n):
    rss0 = peak_kib()
    cold = await one_pass(n)
    rss1 = peak_kib()
    warm = await one_pass(n)
    print(f"RESULT n={n} ns_per_task={cold / n:.2f} "
          f"ns_per_task_warm={warm / n:.2f} rss_mib={peak_kib() / 1024:.2f} "
          f"bytes_per_task={(rss1 - rss0) * 1024 / n:.1f}")


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000000))
