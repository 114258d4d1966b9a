"""Run the load test (bench/load_echo.c) a few times and report it.

Usage: load_run.py BINARY [--runs R] [--conns N] [--seconds D]
                          [--compare] [--report RESULTS.md] [--cc CC]

Runs `BINARY -n N -d D` R times, one after the other; any run that fails
(non-zero exit: an error, a stall, the memory bound) fails the whole thing
at once, with the program's own message above.  --compare follows each run
with a control run without the slow reader (-s 0), so that its effect on the
others can be seen.  With --report, the medians over the runs (with
[min-max]) and each run's main figures go into that file between the lines
<!-- load:begin --> and <!-- load:end --> (the section is replaced if it is
there, appended if not; the rest of the file is kept).  Speed never fails
anything: only correctness and the memory bound do."""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys

BEGIN, END = "<!-- load:begin -->", "<!-- load:end -->"


def run_once(args, i, slow=True):
    cmd = [args.binary, "-n", str(args.conns), "-d", f"{args.seconds:g}"] + ([] if slow else ["-s", "0"])
    print(f"load: run {i} of {args.runs}{'' if slow else ' (control: no slow reader)'}: "
          f"{' '.join(cmd)}", flush=True)
    # The program stops itself (alarm) long before this; the timeout is
    # only there so that make can never hang on it.
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True,
                           timeout=args.seconds + 600)
    except subprocess.TimeoutExpired:
        sys.exit(f"load: run {i} did not end; FAILED")
    sys.stdout.write(p.stdout)
    result = [line for line in p.stdout.splitlines() if line.startswith("RESULT ")]
    if p.returncode != 0 or not result:
        why = f"exit status {p.returncode}" if p.returncode else "no RESULT line"
        sys.exit(f"load: run {i} FAILED ({why})")
    row = {}
    for item in result[-1].split()[1:]:
        k, _, v = item.partition("=")
        row[k] = float(v)
    # How much of the machine the two processes got during the load: on a
    # shared machine, the first thing to look at when the speed moves.
    cores = os.cpu_count() or 1
    row["cpu_share_pct"] = 100 * (row["client_cpu_s"] + row["server_cpu_s"]) / (cores * args.seconds)
    return row


def machine(cc):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        compiler = subprocess.run([cc, "--version"], stdout=subprocess.PIPE, text=True,
                                  check=True).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        compiler = cc
    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "kernel": f"{platform.system()} {platform.release()}",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "compiler": compiler,
    }


def fmt(v, dec):
    return f"{v:,.{dec}f}"


# The figures in the table: RESULT key, what it is, decimals, whether the
# control runs (no slow reader) have it too.
ROWS = [
    ("seconds", "load duration, go to last round trip (s)", 2, True),
    ("round_trips", "round trips", 0, True),
    ("rps", "round trips per second", 0, True),
    ("p50_us", "round-trip latency p50 (us)", 0, True),
    ("p99_us", "round-trip latency p99 (us)", 0, True),
    ("max_us", "round-trip latency max (us)", 0, True),
    ("max_gap_ms", "longest time a connection went without completing a round trip (ms; limit 1,000)", 1, True),
    ("connect_s", "time to open all connections (s)", 2, True),
    ("server_bytes_per_conn", "server memory per connection (bytes)", 0, True),
    ("server_growth_kb", "server RSS growth during the load (KiB; limit 4,096)", 0, True),
    ("slow_pushed", "slow reader: bytes it managed to push", 0, False),
    ("slow_read", "slow reader: bytes read back (1 per second)", 0, False),
    ("client_cpu_s", "client CPU during the load (s)", 2, True),
    ("server_cpu_s", "server CPU during the load (s)", 2, True),
    ("client_user_s", "of which user time (s), client", 2, True),
    ("server_user_s", "of which user time (s), server", 2, True),
    ("cpu_share_pct", "share of all cores' time the two processes got during the load (%)", 0, True),
    ("client_cpu_total_s", "client CPU, whole run (s)", 2, True),
    ("server_cpu_total_s", "server CPU, whole run (s)", 2, True),
    ("errors", "errors", 0, True),
]


def section(args, rows, control, m):
    n = int(args.conns)
    def cell(rows, key, dec):
        v = [r[key] for r in rows]
        s = fmt(statistics.median(v), dec)
        if len(v) > 1 and min(v) != max(v):
            s += f" [{fmt(min(v), dec)}-{fmt(max(v), dec)}]"
        return s
    slot = int(rows[0].get("slot_bytes", 0))
    out = [BEGIN,
           f"## Load: {n:,} concurrent echo connections\n",
           f"Generated by `make load` on {m['date']}: `{os.path.basename(args.binary)} -n {n} "
           f"-d {args.seconds:g}` run {len(rows)} times; figures are medians, with [min-max] over "
           "the runs.  `make load QUICK=1` (1,000 connections for 1 s, once) is the CI variant "
           "and writes nothing here.\n",
           f"- Machine: {m['cpu']}, {m['cores']} cores, {m['kernel']}; {m['compiler']} (-O2).",
           f"- The machine is shared: the client and the server are two processes on the same "
           f"{m['cores']} cores, and other work on the host comes and goes, so the speed figures "
           "move from run to run (the CPU share row below says how much of the machine the test "
           "got).  Nothing fails on speed.  A run fails on any error (a connect "
           "or I/O error, a short or wrong echo, a connection without a round trip for over 1 s, "
           "an error the server saw) and if the server's RSS grows by 4 MiB or more during the "
           "load.\n",
           "What runs (bench/load_echo.c): an echo server written with async.h, one task per "
           f"connection in a heap slot of {slot:,} bytes with a 4 KiB read buffer, in one process; "
           f"in another, a driver also written with async.h opens {n:,} connections to 127.0.0.1, "
           "all at once, and keeps every one busy with 64-byte round trips (send 64 bytes made of "
           "the connection's id and round-trip counter, receive exactly 64 back, compare every "
           "byte), timing each with the loop's clock.  Meanwhile one more connection, the slow "
           "reader, writes up to 64 MiB as fast as the socket takes it and reads the echo back one "
           "byte per second.\n",
           ("| | with the slow reader | control: without it |\n|---|---|---|\n"
            f"| connections | {n:,} + 1 slow reader | {n:,} |" if control else
            f"| | median [min-max] |\n|---|---|\n| connections | {n:,} + 1 slow reader |")]
    for key, title, dec, both in ROWS:
        extra = (f" {cell(control, key, dec) if both else '-'} |" if control else "")
        out.append(f"| {title} | {cell(rows, key, dec)} |{extra}")
    out.append("")
    if control:
        out.append(f"The control runs ({len(control)}, each right after a run with the slow "
                   "reader) are the same test without it: the slow reader's cost to the others "
                   "is the difference between the two columns.\n")
    out.append("Each run (with the slow reader" + ("; the control run after it in the last "
               "two columns):\n" if control else "):\n"))
    out.append("| run | round trips/s | p50 (us) | p99 (us) | max (us) | longest wait (ms) "
               "| server B/conn | RSS growth (KiB) | slow reader pushed (B) | CPU client / server (s) |"
               + (" control round trips/s | control p99 (us) |" if control else ""))
    out.append("|---|---|---|---|---|---|---|---|---|---|" + ("---|---|" if control else ""))
    for i, r in enumerate(rows, 1):
        out.append(f"| {i} | {fmt(r['rps'], 0)} | {fmt(r['p50_us'], 0)} | {fmt(r['p99_us'], 0)} "
                   f"| {fmt(r['max_us'], 0)} | {fmt(r['max_gap_ms'], 1)} "
                   f"| {fmt(r['server_bytes_per_conn'], 0)} | {fmt(r['server_growth_kb'], 0)} "
                   f"| {fmt(r['slow_pushed'], 0)} | {r['client_cpu_s']:.2f} / {r['server_cpu_s']:.2f} |"
                   + (f" {fmt(control[i - 1]['rps'], 0)} | {fmt(control[i - 1]['p99_us'], 0)} |"
                      if control else ""))
    out.append("")
    out.append("How to read them:\n")
    first = sum(1 for r in rows + control if r.get("max_gap_rt", -1) == 0)
    out.append(f"- Latency is that of a closed loop: each of the {n:,} connections always has one "
               "message in flight, so a round trip takes about connections / (round trips per "
               "second) (Little's law), most of it waiting for the other connections' turns.  "
               "What the latency figures show is how evenly the two loops serve them all: p99 "
               "and max against p50, and the longest wait of any one connection." + (
                   f"  In {first} of the {len(rows + control)} runs that longest wait was a "
                   "connection's first round trip: at the start every connection sends at once, "
                   "so the first lap, which includes the driver sending all of them, is the slowest."
                   if first else ""))
    out.append("- Memory per connection: the server's VmRSS (/proc/self/status) with every "
               "connection open and idle, less its VmRSS before the first connection, divided by "
               f"the connections ({n + 1:,}, the slow reader's included).  The server zeroes (and "
               f"so touches) a slot when it takes it, so this is the whole slot, {slot:,} bytes, "
               "4,096 of them the read buffer; the kernel's socket buffers are not in it.")
    out.append("- RSS growth: the peak of the server's VmRSS, sampled every 10 ms, and its "
               "VmHWM, reset when the load starts (/proc/self/clear_refs), less the idle figure.  "
               "The server echoes what it read before it reads more, so once the slow reader's "
               "socket buffers are full its connection stops being read; what it pushed waits in "
               "the kernel's buffers, not in the server.")
    out.append("- CPU: getrusage in each process, user + system, over the load (and over the "
               "whole run: connecting and closing too).  Nearly all of it is system time, the "
               "kernel's TCP loopback path; user time (the programs, async.h and libc) is the "
               "small rest.")
    out.append(END)
    return "\n".join(out)


def splice(path, text):
    """Replace the marked section of `path`, or append it; keep the rest."""
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = ""
    i = old.find(BEGIN)
    j = old.find(END, i) if i >= 0 else -1
    if i >= 0 and j >= 0:
        new = old[:i] + text + old[j + len(END):]
    else:
        new = (old.rstrip("\n") + "\n\n" if old.strip() else "") + text + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("--report")
    ap.add_argument("--cc", default="cc")
    args = ap.parse_args()
    rows, control = [], []
    for i in range(1, args.runs + 1):
        rows.append(run_once(args, i))
        if args.compare:
            control.append(run_once(args, i, slow=False))
    if len(rows) > 1:
        print(f"load: medians over {len(rows)} runs: " + ", ".join(
            f"{k}={statistics.median(r[k] for r in rows):g}"
            for k in ("rps", "p50_us", "p99_us", "max_us", "max_gap_ms",
                      "server_bytes_per_conn", "server_growth_kb", "slow_pushed",
                      "client_cpu_s", "server_cpu_s")))
    if args.report:
        splice(args.report, section(args, rows, control, machine(args.cc)))
        print(f"load: results in {args.report}")
    if control:
        print("load: control runs (no slow reader): " + ", ".join(
            f"{k}={statistics.median(r[k] for r in control):g}"
            for k in ("rps", "p50_us", "p99_us", "max_us", "max_gap_ms")))
    print(f"load: {len(rows) + len(control)} run(s) of {args.conns:,} connections passed: "
          "no errors, memory bounded")


if __name__ == "__main__":
    main()
