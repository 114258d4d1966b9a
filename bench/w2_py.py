"""W2 yield, Python asyncio: two tasks yield to each other with
asyncio.sleep(0) until n switches have happened.  Usage: w2_py.py [n]."""
import asyncio
import sys
import time


async def yielder(n):
    for _ in range(n):
        await asyncio.sleep(0)


async def main(n):
    t0 = time.perf_counter_ns()
    await asyncio.gather(yielder(n // 2), yielder(n // 2))
    t1 = time.perf_counter_ns()
    n = n // 2 * 2
    print(f"RESULT n={n} elapsed_s={(t1 - t0) / 1e9:.6f} "
          f"ns_per_switch={(t1 - t0) / n:.3f}")


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000000))
