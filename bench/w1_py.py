"""W1 count, Python asyncio: three tasks print One, sleep, print Two.
Usage: w1_py.py [seconds]."""
import asyncio
import sys


async def count(seconds):
    print("One")
    await asyncio.sleep(seconds)
    print("Two")


async def main(seconds):
    await asyncio.gather(*(count(seconds) for _ in range(3)))


asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0))
