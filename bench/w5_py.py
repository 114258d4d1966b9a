"""W5 timer accuracy, Python asyncio: sleep 1 ms n times in a row and record
by how much each sleep overshot.  Usage: w5_py.py [n]."""
import asyncio
import sys
import time


def percentile(v, permille):
    """Nearest rank, the same integer rank as bench.h: ceil(pm*n/1000)-1."""
    k = (permille * len(v) + 999) // 1000
    return v[max(k - 1, 0)]


async def main(n):
    over = []
    for _ in range(n):
        t = time.perf_counter_ns()
        await asyncio.sleep(0.001)
        over.append((time.perf_counter_ns() - t - 1000000) / 1e3)
    over.sort()
    print(f"RESULT n={n} median_us={percentile(over, 500):.1f} "
          f"p99_us={percentile(over, 990):.1f} max_us={over[-1]:.1f}")


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
