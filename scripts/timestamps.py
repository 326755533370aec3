"""Copy stdin to stdout, each line prefixed with the seconds since the start; at the end, the total and the longest
silent stretch (and the line that ended it). Used by scripts/time-demo.sh to measure `make demo`."""

from __future__ import annotations

import sys
import time


def main() -> None:
    start = last = time.monotonic()
    longest, ended_by = 0.0, ""
    for line in sys.stdin:
        now = time.monotonic()
        if now - last > longest:
            longest, ended_by = now - last, line.strip()
        last = now
        sys.stdout.write(f"{now - start:6.1f} {line}")
        sys.stdout.flush()
    end = time.monotonic()
    if end - last > longest:
        longest, ended_by = end - last, "(the end of the output)"
    print(f"total {end - start:.1f} s; longest silence {longest:.1f} s, ended by: {ended_by[:100]}")


if __name__ == "__main__":
    main()
