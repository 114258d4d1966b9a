"""bench/workloads.py - the table of workloads: the one place a workload is
declared.  bench/run.sh asks it what to run (`workloads.py shell QUICK`),
bench/report.py how to report it.

A workload is a row below plus its programs, bench/<id>_<suffix>: one per
implementation that takes part (see PROGRAMS; run.sh builds every C one by
its suffix and every Go one, and runs whichever exist).  Adding a workload
is adding a row and writing its programs.

Row fields:
  id, title, desc   desc may use {w1_sleep}
  run     how run.sh runs it, ROUNDS times with the implementations
          interleaved:
            plain      each program with `args`
            calibrate  the same, but args[0] (n) is first scaled per
                       implementation so that one run takes about a second
            process    whole processes: hyperfine for the wall time (it
                       replaces the wall_s of the rusage line), bench/rusage
                       for CPU and peak RSS
            server     each program is a server given a free port; the
                       load generator bench/<id>_load (a C program) is run
                       against it with `args`
  args    {"full": [...], "quick": [...]}: the arguments after the program
  first   implementations run before the library and its peers: floors
  last    (name, implementation whose program runs, extra arguments) run
          after them: diagnostics
  metrics M(key, column title, unit, decimals, async.h target, chart=...):
          every key "lower is better" unless the row's `relative` says so
  floors  (implementation, what it is[, metric keys]): shown beside the
          targets (of those metrics only, when given)
  same    a result key every implementation must report alike (the W4
          programs must sleep the same sequence)
  show_n  the section title gives n
  relative (key, peer, factor, "higher" or "lower"): async.h's target is
          `factor` times better than the peer's figure, where better is
          higher (a rate) or lower (a cost)
"""
import sys


class M:
    """A metric: result key, column title, unit, decimals, async.h target."""

    def __init__(self, key, title, unit, dec=None, target=None, chart=None):
        self.key, self.title, self.unit = key, title, unit
        self.dec, self.target, self.chart = dec, target, chart


# Implementation -> the suffix of its programs, in report order.
PROGRAMS = {
    "empty": "empty.c",
    "sync": "sync.c",
    "async.h": "async.c",
    "libuv": "uv.c",
    "python": "py.py",
    "node": "node.js",
    "go": "go.go",
    "pthreads": "pthread.c",
    "heap": "heap.c",
    "floor": "floor.c",
}


def workloads(w1_sleep=1.0):
    return [
        dict(id="w1", title="W1 count", run="process",
             args={"full": ["1"], "quick": ["0.1"]}, first=["empty", "sync"],
             desc=f"Three tasks each print One, sleep {w1_sleep:g} s, print Two (examples/"
             "countasync.c); the blocking version sleeps three times in a row.  Whole "
             "process, start-up included: wall time by hyperfine, CPU (user+sys) and "
             "peak RSS by wait4 (bench/rusage.c).",
             metrics=[M("wall_s", "wall", "s", 4, w1_sleep + 0.002, chart="W1 wall"),
                      M("cpu_ms", "CPU", "ms", 2, 2, chart="W1 CPU"),
                      M("rss_mib", "peak RSS", "MiB", 2, chart="W1 RSS")],
             floors=[("empty", "an empty process")]),
        dict(id="w2", title="W2 yield", run="calibrate", first=["floor"],
             args={"full": ["calibrate"], "quick": ["20000"]},
             desc="Two tasks hand control to each other through the scheduler (ASYNC_YIELD, "
             "asyncio.sleep(0), a setImmediate promise, an idle-handle step in libuv, "
             "runtime.Gosched on one P); time per switch, n scaled per implementation "
             "so that a run takes about a second.",
             metrics=[M("ns_per_switch", "per switch", "ns", None, 3, chart="W2 switch"),
                      M("n", "switches per run", "", 0)],
             floors=[("floor", "two bare stackless coroutines called in turn, no scheduler")]),
        dict(id="w3", title="W3 spawn", run="plain", show_n=True,
             last=[("async.h-huge", "async.h", ["huge"])],
             args={"full": ["1000000"], "quick": ["10000"]},
             desc="Create, run and reap trivial tasks, all queued before the loop runs.  "
             "'cold' is the first pass, which allocates and first touches the task "
             "storage; 'warm' is a second pass in the same process reusing it.  Bytes "
             "per task = peak RSS growth during the cold pass / n.",
             metrics=[M("ns_per_task", "per task, cold", "ns", None, 30, chart="W3 task cold"),
                      M("ns_per_task_warm", "per task, warm", "ns", None, 20,
                        chart="W3 task warm"),
                      M("bytes_per_task", "memory per task", "B", 1, 64, chart="W3 B/task"),
                      M("rss_mib", "peak RSS", "MiB", 1)],
             floors=[("async.h-huge", "the same async.h program with its storage in huge pages",
                     ["ns_per_task"])]),
        dict(id="w4", title="W4 sleepers", run="plain", show_n=True, same="sum_ms",
             last=[("async.h-heap", "heap", []), ("async.h-huge", "async.h", ["huge"])],
             args={"full": ["1000000"], "quick": ["10000"]},
             desc="Tasks each sleeping a pseudo-random 0-1000 ms (xorshift32 from seed 42, "
             "the same sequence everywhere, checked by its sum): time from the first "
             "spawn until all are done (ideal 1,000 ms), of which spawning, CPU over "
             "that time, peak RSS and its growth per task.",
             metrics=[M("total_ms", "first spawn to all done", "ms", 0, 1150, chart="W4 time"),
                      M("spawn_ms", "of which spawning", "ms", 0),
                      M("cpu_ms", "CPU", "ms", 0, chart="W4 CPU"),
                      M("rss_mib", "peak RSS", "MiB", 1, 100),
                      M("bytes_per_task", "memory per task", "B", 0, chart="W4 B/task")],
             floors=[("async.h-huge", "the same async.h program with its storage in huge pages",
                      ["total_ms"])]),
        dict(id="w5", title="W5 timer accuracy", run="plain", show_n=True,
             args={"full": ["1000"], "quick": ["50"]}, first=["sync"],
             last=[("async.h-slack1", "async.h", ["1"])],
             desc="One task sleeps 1 ms, over and over; oversleep = measured duration - 1 ms "
             "(nearest-rank percentiles).  'sync' is a bare clock_nanosleep, the "
             "kernel's floor under the machine's timer slack.",
             metrics=[M("median_us", "median oversleep", "us", 1, 50, chart="W5 median"),
                      M("p99_us", "p99 oversleep", "us", 1, 110, chart="W5 p99"),
                      M("max_us", "max oversleep", "us", 0)],
             floors=[("sync", "a bare clock_nanosleep"),
                     ("async.h-slack1", "async.h with 1 ns timer slack")]),
        dict(id="w6", title="W6 echo", run="server", relative=("rps", "libuv", 1, "higher"),
             args={"full": ["100", "30"], "quick": ["20", "5"]},
             desc="TCP echo over loopback: each implementation's echo server, driven by the "
             "same load generator (bench/w6_load.c, written with async.h) keeping "
             "connections busy with 64-byte round trips; client and server share the "
             "2 cores.  Requests per second (higher is better: here a ratio below 1x "
             "means async.h did better) and round-trip latency.",
             metrics=[M("rps", "requests per second", "", 0),
                      M("median_us", "median latency", "us", 1),
                      M("p99_us", "p99 latency", "us", 1, chart="W6 p99")]),
        dict(id="w7", title="W7 timeout churn", run="plain", show_n=True,
             relative=("awaits_per_s", "libuv", 2, "higher"),
             last=[("async.h-heap", "heap", [])],
             args={"full": ["1000000"], "quick": ["10000"]},
             desc="The server pattern, every read under a deadline that does not fire: with "
             "10,000 other timers armed 10-20 s away, n awaits each under a fresh 10 s "
             "timeout (async.h: ASYNC_WITH_TIMEOUT around a wait that completes at once, "
             "through the loop every ASYNC_BUDGET awaits; asyncio: asyncio.timeout around "
             "a set Event; Node: setTimeout/clearTimeout around an await of a resolved "
             "promise), against libuv's uv_timer_start/uv_timer_stop pairs in a row (its "
             "timers at their fastest).",
             metrics=[M("ns_per_await", "per await under a timeout", "ns", 1, chart="W7 await"),
                      M("awaits_per_s", "per second", "", 0),
                      M("cpu_ms", "CPU", "ms", 0)]),
        dict(id="w8", title="W8 equal deadlines", run="plain", show_n=True, same="ordered",
             relative=("cpu_ms", "libuv", 2, "lower"),
             last=[("async.h-heap", "heap", [])],
             args={"full": ["100000"], "quick": ["1000"]},
             desc="n tasks (libuv: timers) all sleep the same 10 ms, 100 rounds in a row; "
             "every round must wake them in the order they started (checked: the "
             "program fails otherwise).  The wall time is bound by the sleeps or by "
             "the CPU, whichever is more; CPU per wake-up is the figure.",
             metrics=[M("cpu_ms", "CPU", "ms", 0, chart="W8 CPU"),
                      M("ns_per_wakeup", "CPU per wake-up", "ns", 1),
                      M("total_ms", "wall", "ms", 0)]),
    ]


def shell(quick):
    """One line per workload for run.sh, fields separated by '|' (a tab
    would let the shell's read merge empty fields): id, run, title, first
    (space-separated), last (name:impl:args, args joined by commas), args."""
    for w in workloads():
        last = " ".join(f"{n}:{i}:{','.join(a)}" for n, i, a in w.get("last", []))
        print("|".join([w["id"], w["run"], w["title"], " ".join(w.get("first", [])), last,
                         " ".join(w["args"]["quick" if quick else "full"])]))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "shell":
        shell(len(sys.argv) > 2 and sys.argv[2] == "1")
    elif len(sys.argv) >= 2 and sys.argv[1] == "programs":
        print("\n".join(f"{i} {s}" for i, s in PROGRAMS.items()))
    else:
        sys.exit("usage: workloads.py shell QUICK | programs")
