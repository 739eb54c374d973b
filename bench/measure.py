#!/usr/bin/env python3
"""measure.py [OPTIONS] NAME -- CMD...   runs CMD repeatedly; prints its median wall time.

The one timer of the bench scripts. Options, before NAME:
  --runs N       timed runs (default 15)
  --warmup N     untimed runs first (default 3)
  --prep CMD     a shell command run before every run, untimed
  --ok CODES     exit codes that count as success, comma-separated (default 0; rg exits 1
                 when nothing matches)
  --results F    also append "NAME<TAB>median_ms<TAB>peak_mib" to F
Prints one line: NAME, then median, min and p90 wall time, median CPU time (user + system)
and peak RSS of CMD. Exits non-zero if CMD or PREP fails.
"""
import os, statistics, subprocess, sys, time


def options(args):
    opts = {"runs": 15, "warmup": 3, "prep": "", "ok": "0", "results": ""}
    while args and args[0].startswith("--") and args[0] != "--":
        key = args[0][2:]
        if key not in opts:
            sys.exit(f"measure.py: unknown option {args[0]}")
        opts[key] = args[1]
        args = args[2:]
    if len(args) < 3 or args[1] != "--":
        sys.exit("usage: measure.py [--runs N] [--warmup N] [--prep CMD] [--ok CODES] "
                 "[--results F] NAME -- CMD...")
    return opts, args[0], args[2:]


def run_once(cmd, ok):
    """Runs CMD with its output discarded; (wall ms, cpu ms, peak KiB)."""
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = (time.perf_counter() - t) * 1000
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        sys.exit(f"measure.py: command failed ({code}): {' '.join(cmd)}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000, usage.ru_maxrss


def main():
    opts, name, cmd = options(sys.argv[1:])
    ok = {int(c) for c in opts["ok"].split(",")}
    runs, warmup = int(opts["runs"]), int(opts["warmup"])
    times, cpu, peak = [], [], 0
    for i in range(warmup + runs):
        if opts["prep"]:
            subprocess.run(opts["prep"], shell=True, check=True, stdout=subprocess.DEVNULL)
        wall, c, rss = run_once(cmd, ok)
        if i >= warmup:
            times.append(wall)
            cpu.append(c)
            peak = max(peak, rss)
    times.sort()
    med = statistics.median(times)
    p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
    print(f"{name:<40} median {med:7.1f} ms  min {times[0]:7.1f} ms  p90 {p90:7.1f} ms  "
          f"cpu {statistics.median(cpu):6.1f} ms  peak {peak / 1024:5.1f} MiB")
    if opts["results"]:
        with open(opts["results"], "a") as f:
            f.write(f"{name}\t{med}\t{peak / 1024}\n")


main()
