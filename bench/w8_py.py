"""W8 equal deadlines, Python asyncio: n tasks all sleep 10 ms, 100 rounds;
each round must wake them in start order (checked; see w8_async.c).
Usage: w8_py.py [n]."""
import asyncio
import resource
import sys
import time

ROUNDS = 100
state = {"next": 0, "bad": 0}


def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def sleeper(i, n):
    for _ in range(ROUNDS):
        await asyncio.sleep(0.01)
        if i != state["next"]:
            state["bad"] += 1
        state["next"] = 0 if i + 1 == n else i + 1


async def main(n):
    c0, t0 = cpu(), time.perf_counter_ns()
    await asyncio.gather(*(sleeper(i, n) for i in range(n)))
    t1, c1 = time.perf_counter_ns(), cpu()
    ok = state["bad"] == 0
    print(f"RESULT n={n} total_ms={(t1 - t0) / 1e6:.1f} cpu_ms={(c1 - c0) * 1e3:.1f} "
          f"ns_per_wakeup={(c1 - c0) * 1e9 / n / ROUNDS:.1f} ordered={int(ok)}")
    return ok


sys.exit(0 if asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100000)) else 1)
