#!/usr/bin/env python3
"""measure.py NAME -- CMD...   runs CMD repeatedly; prints median wall time and peak RSS.

Used by the bench scripts: `--runs N` (default 15) and `--warmup N` (default 3) go before NAME.
Prints one line: NAME median_ms p90_ms peak_rss_mib. Exits non-zero if CMD fails.
"""
import os, resource, statistics, subprocess, sys, time

def main():
    args = sys.argv[1:]
    runs, warmup = 15, 3
    while args and args[0].startswith("--"):
        if args[0] == "--runs":
            runs = int(args[1]); args = args[2:]
        elif args[0] == "--warmup":
            warmup = int(args[1]); args = args[2:]
        else:
            break
    name, sep, cmd = args[0], args[1], args[2:]
    assert sep == "--", "usage: measure.py [--runs N] [--warmup N] NAME -- CMD..."
    times, peak = [], 0
    for i in range(warmup + runs):
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
        dt = time.perf_counter() - t
        if os.waitstatus_to_exitcode(status) != 0:
            print(f"{name}: command failed: {' '.join(cmd)}", file=sys.stderr)
            sys.exit(1)
        if i >= warmup:
            times.append(dt * 1000)
            peak = max(peak, usage.ru_maxrss)
    times.sort()
    p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
    print(f"{name:<40} median {statistics.median(times):8.1f} ms   p90 {p90:8.1f} ms   peak {peak / 1024:6.1f} MiB")

main()
