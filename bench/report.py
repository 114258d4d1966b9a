"""Turn bench/run.sh's raw results into RESULTS.md, a stdout summary and the
ratio chart.  Usage: report.py RAW_DIR REPORT.md [CHART.png]

Every figure is the median over the rounds, with [min-max] beside it; a
ratio is peer median / async.h median, so for every metric here (all are
"lower is better") a ratio above 1 means async.h did better.  Exits non-zero
if an expected result is missing or the W4 programs did not sleep the same
sequence; never because a figure misses a target."""
import glob
import json
import os
import statistics
import subprocess
import sys

RAW, REPORT = sys.argv[1], sys.argv[2]
CHART = sys.argv[3] if len(sys.argv) > 3 else None
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from workloads import workloads  # noqa: E402  (the table of workloads)

# Implementations in table order; what each one is.
IMPLS = {
    "async.h": "async.h (this library), -O2",
    "empty": "empty C process: the floor (exec, loader, exit)",
    "floor": "two bare stackless coroutines (a switch on a saved line) called in turn "
             "through a function pointer: a switch with no scheduler (bench/w2_floor.c)",
    "sync": "blocking C (nanosleep / clock_nanosleep)",
    "pthreads": "POSIX threads, one per task, minimal stacks",
    "libuv": "libuv (C)",
    "python": "Python asyncio",
    "node": "Node.js (promises, setTimeout / setImmediate)",
    "go": "Go goroutines",
    "async.h-slack1": "async.h, process timer slack set to 1 ns (diagnostic)",
    "async.h-huge": "async.h, its task storage in transparent huge pages (madvise): one "
                    "page fault per 2 MiB instead of per 4 KiB (diagnostic: W3 cold without "
                    "the machine's page-fault cost)",
    "async.h-heap": "async.h built with -DASYNC_TIMER_HEAP: timers in the binary heap "
                    "alone, as before the timing wheel (diagnostic: the wheel against the heap)",
}
NOT_PEERS = {"async.h", "empty", "floor", "async.h-slack1", "async.h-heap", "async.h-huge"}


def load():
    machine, notes, data = {}, [], {}
    with open(os.path.join(RAW, "machine.txt")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(": ")
            machine[k] = v
    if os.path.exists(os.path.join(RAW, "notes.txt")):
        with open(os.path.join(RAW, "notes.txt")) as f:
            notes = [line.strip() for line in f if line.strip()]
    path = os.path.join(RAW, "results.tsv")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                w, impl, rnd, kv = line.rstrip("\n").split("\t")
                row = {}
                for item in kv.split():
                    k, _, v = item.partition("=")
                    try:
                        row[k] = float(v)
                    except ValueError:
                        row[k] = v
                data.setdefault(w, {}).setdefault(impl, {})[int(rnd)] = row
    # Whole-process workloads: hyperfine's wall time replaces bench/rusage's.
    for path in glob.glob(os.path.join(RAW, "w*_hf_r*.json")):
        w = os.path.basename(path).split("_hf_r")[0]
        rnd = int(path.rsplit("_r", 1)[1].split(".")[0])
        with open(path) as f:
            for res in json.load(f)["results"]:
                row = data.get(w, {}).get(res["command"], {}).get(rnd)
                if row is not None:
                    row["wall_rusage_s"] = row.get("wall_s")
                    row["wall_s"] = res["times"][0]
    return machine, notes, data


MACHINE, NOTES, DATA = load()
QUICK = MACHINE.get("mode") == "quick"
W1_SLEEP = float(MACHINE.get("args_w1", "1").split()[0])
WORKLOADS = workloads(W1_SLEEP)
BY_ID = {wl["id"]: wl for wl in WORKLOADS}

# The chart: one bar per peer for each metric marked for it (peer / async.h).
CHART_METRICS = [(m.chart, wl["id"], m.key) for wl in WORKLOADS for m in wl["metrics"] if m.chart]


def values(w, impl, key):
    rows = DATA.get(w, {}).get(impl, {})
    return [r[key] for _, r in sorted(rows.items()) if isinstance(r.get(key), float)]


def med(w, impl, key):
    v = values(w, impl, key)
    return statistics.median(v) if v else None


def num(v, dec=None):
    if dec is None:  # about three significant figures
        a = abs(v)
        dec = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 1 else 3
    return f"{v:,.{dec}f}"


def cell(w, impl, m):
    v = values(w, impl, m.key)
    if not v:
        return "-"
    s = num(statistics.median(v), m.dec)
    if len(v) > 1:
        s += f" [{num(min(v), m.dec)}-{num(max(v), m.dec)}]"
    return s


def ratio(w, impl, key):
    a, p = med(w, "async.h", key), med(w, impl, key)
    if a is None or p is None or a <= 0 or p <= 0:
        return None
    return p / a


def rtext(r):
    if r is None:
        return "n/a"
    return f"{r:.3g}x" if r < 1000 else f"{r:,.0f}x"


def target_text(w, m):
    v = med(w, "async.h", m.key)
    if m.target is None or v is None:
        return None, ""
    ok = v <= m.target
    return ok, f"<= {num(m.target, m.dec if m.dec is not None else None)} {m.unit}: " + (
        "**met**" if ok else "**missed**")


def impl_label(w, impl):
    """The name, and how far a program got when it could not make all n
    tasks (pthreads running out of threads)."""
    label = impl
    rows = DATA.get(w, {}).get(impl, {})
    r = rows[min(rows)] if rows else {}
    if "created" in r and r.get("created") != r.get("n"):
        label += (f" ({num(r['created'], 0)} of {num(r['n'], 0)} threads;"
                  f" stopped by {r.get('stop', '?')})")
    return label


def check(problems):
    """Every expected result present, and each workload's `same` key equal
    across implementations (the W4 sleep sequences)."""
    rounds = int(MACHINE.get("rounds", "1"))
    for w, impls in DATA.items():
        for impl, rows in impls.items():
            if len(rows) != rounds:
                problems.append(f"{w} {impl}: {len(rows)} of {rounds} rounds reported")
    for wl in WORKLOADS:
        key, sums = wl.get("same"), {}
        for impl, rows in DATA.get(wl["id"], {}).items() if key else ():
            for r in rows.values():
                if r.get("created") == r.get("n"):
                    sums.setdefault(r.get(key), set()).add(impl)
        if len(sums) > 1:
            problems.append(f"{wl['title']}: the implementations differ in {key}: " + "; ".join(
                f"{s}: {', '.join(sorted(i))}" for s, i in sums.items()))


def context(w, m):
    """What the machine alone costs, beside a target that depends on it."""
    parts = []
    for impl, what, *keys in BY_ID[w].get("floors", []):
        if keys and m.key not in keys[0]:
            continue
        v = med(w, impl, m.key)
        if v is not None:
            parts.append(f"{what}: {num(v, m.dec)} {m.unit}")
    return f" ({'; '.join(parts)})" if parts else ""


def markdown(problems):
    out = []
    mode = "QUICK=1: a scaled-down smoke run, not a measurement" if QUICK else "full run"
    out.append("# async.h benchmarks\n")
    out.append(f"Generated by `bench/run.sh` ({mode}) on {MACHINE.get('date', '?')}; "
               f"the whole suite took {MACHINE.get('suite_seconds', '?')} s.  "
               "**How to reproduce:** `make bench` (or `bash bench/run.sh`; "
               "`make bench QUICK=1` for the smoke test).\n")
    out.append("## Machine\n")
    for k, title in [("cpu", "CPU"), ("cores", "Cores"), ("memory", "Memory"),
                     ("kernel", "Kernel"), ("timer_slack_ns", "Timer slack"),
                     ("page_fault_us", "First touch of a fresh 4 KiB page"),
                     ("compiler", "Compiler"), ("python", "Python"), ("node", "Node.js"),
                     ("libuv", "libuv"), ("go", "Go"), ("hyperfine", "hyperfine"),
                     ("gnuplot", "gnuplot")]:
        if k in MACHINE:
            v = MACHINE[k]
            if k == "timer_slack_ns":
                v += " ns (/proc/self/timerslack_ns)"
            if k == "page_fault_us":
                v += " us (bench/probe.c; W3 cold and W4 spawning pay it)"
            out.append(f"- {title}: {v}")
    out.append("")
    out.append(f"Method: each workload ran {MACHINE.get('rounds', '?')} time(s), the "
               "implementations interleaved (A B C A B C ...) so that noise on this "
               "shared 2-core machine hits all alike.  Figures are medians with "
               "[min-max]; **ratio = peer / async.h** (lower is better everywhere, so "
               "above 1x async.h did better).  Targets are async.h's goals, shown "
               "for information: nothing fails on them.\n")
    seen = [i for i in IMPLS if any(i in DATA.get(w, {}) for w in DATA)]
    out.append("Implementations (sources in bench/, one program per workload and "
               "implementation, the same logic in each):\n")
    out += [f"- {i}: {IMPLS[i]}" for i in seen]
    out.append("")
    if NOTES:
        out.append("Notes from this run:\n")
        out += [f"- {n}" for n in NOTES]
        out.append("")
    if problems:
        out.append("**Problems in this run:**\n")
        out += [f"- {p}" for p in problems]
        out.append("")
    for wl in WORKLOADS:
        w, title, desc, metrics = wl["id"], wl["title"], wl["desc"], wl["metrics"]
        impls = [i for i in IMPLS if i in DATA.get(w, {})]
        n = DATA.get(w, {}).get("async.h", {})
        n = n[min(n)].get("n") if n else None
        out.append(f"## {title}" + (f" (n = {num(n, 0)})" if n and wl.get("show_n") else "") + "\n")
        out.append(desc + "\n")
        if not impls:
            out.append("No results.\n")
            continue
        head = ["implementation"]
        for m in metrics:
            head.append(f"{m.title} ({m.unit})" if m.unit else m.title)
            if m.key != "n":
                head.append("ratio")
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for impl in impls:
            row = [impl_label(w, impl) if impl != "async.h" else "**async.h**"]
            for m in metrics:
                row.append(cell(w, impl, m))
                if m.key != "n":
                    row.append("1x" if impl == "async.h" else rtext(ratio(w, impl, m.key)))
            out.append("| " + " | ".join(row) + " |")
            if impl == "async.h" and any(m.target is not None for m in metrics):
                row = ["async.h target"]
                for m in metrics:
                    row.append(target_text(w, m)[1])
                    if m.key != "n":
                        row.append("")
                out.append("| " + " | ".join(row) + " |")
        out.append("")
    out.append("## Targets\n")
    for wl in WORKLOADS:
        w, title = wl["id"], wl["title"]
        for m in wl["metrics"]:
            ok, text = target_text(w, m)
            if ok is not None:
                out.append(f"- {title}, {m.title}: async.h {num(med(w, 'async.h', m.key), m.dec)} "
                           f"{m.unit}, target {text}" + context(w, m))
        if wl.get("relative"):  # a target relative to a peer's figure
            key, peer, factor, better = wl["relative"]
            m = next(m for m in wl["metrics"] if m.key == key)
            a, u = med(w, "async.h", key), med(w, peer, key)
            if a is not None and u is not None:
                goal = u * factor if better == "higher" else u / factor
                ok = a >= goal if better == "higher" else a <= goal
                unit = f" {m.unit}" if m.unit else ""
                if factor == 1:
                    rule = f"{peer}'s {num(u, m.dec)}{unit}"
                elif better == "higher":
                    rule = f"{factor:g} x {peer}'s {num(u, m.dec)} = {num(goal, m.dec)}{unit}"
                else:
                    rule = f"{peer}'s {num(u, m.dec)} / {factor:g} = {num(goal, m.dec)}{unit}"
                out.append(f"- {title}, {m.title}: async.h {num(a, m.dec)}{unit}, target "
                           f"{'>=' if better == 'higher' else '<='} {rule}: "
                           f"**{'met' if ok else 'missed'}**")
    out.append("")
    if CHART:
        out.append("## Chart\n")
        out.append(f"![peer / async.h ratios, log scale]({os.path.basename(CHART)})\n")
    return "\n".join(out)


def summary():
    peers = [i for i in IMPLS if i not in NOT_PEERS and any(i in DATA.get(w, {}) for w in DATA)]
    head = ["metric", "async.h", "target"] + peers
    rows = []
    for wl in WORKLOADS:
        w, title = wl["id"], wl["title"]
        for m in wl["metrics"]:
            if m.key == "n" or med(w, "async.h", m.key) is None:
                continue
            ok, _ = target_text(w, m)
            rows.append([f"{title.split()[0]} {m.title}",
                         f"{num(med(w, 'async.h', m.key), m.dec)} {m.unit}",
                         "" if ok is None else ("met" if ok else "MISSED")] +
                        [rtext(ratio(w, p, m.key)) if p in DATA.get(w, {}) else "-"
                         for p in peers])
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(wd) for c, wd in zip(r, widths)) for r in [head] + rows]
    lines.insert(1, "  ".join("-" * wd for wd in widths))
    return "\n".join(lines)


def chart():
    peers = [i for i in IMPLS if i not in NOT_PEERS and any(i in DATA.get(w, {}) for w in DATA)]
    dat = os.path.join(RAW, "ratios.dat")
    low = 0.1
    with open(dat, "w") as f:
        f.write("metric " + " ".join(peers) + "\n")
        for label, w, key in CHART_METRICS:
            cells = []
            for p in peers:
                r = ratio(w, p, key) if p in DATA.get(w, {}) else None
                cells.append(f"{r:.6g}" if r else "-")
                low = min(low, r / 2) if r else low
            f.write('"' + label + '" ' + " ".join(cells) + "\n")
    subprocess.run(["gnuplot", "-e", f"datafile='{dat}'; outfile='{CHART}'; "
                    f"ncols={len(peers)}; ymin={low:g}",
                    os.path.join(HERE, "results.gp")], check=True)


def kept_section(path):
    """The block `make load` (bench/load_run.py) keeps in the report, between
    its marker lines, so that regenerating the file carries it over."""
    begin, end = "<!-- load:begin -->", "<!-- load:end -->"
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        return ""
    i = old.find(begin)
    j = old.find(end, i) if i >= 0 else -1
    return old[i:j + len(end)] if i >= 0 and j >= 0 else ""


def main():
    problems = []
    check(problems)
    text = markdown(problems)
    kept = kept_section(REPORT)
    with open(REPORT, "w") as f:
        f.write(text + "\n" + (kept + "\n" if kept else ""))
    print()
    print("Summary (async.h figure; each peer as peer / async.h, above 1x = async.h better)")
    print(summary())
    if NOTES:
        print("\n".join("note: " + n for n in NOTES))
    if CHART:
        chart()
    for p in problems:
        print("PROBLEM: " + p, file=sys.stderr)
    return 1 if problems else 0


sys.exit(main())
