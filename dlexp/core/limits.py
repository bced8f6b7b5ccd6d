"""What the machine has room for, checked before work starts (no heavy imports)."""

from __future__ import annotations


def memory_available() -> int:
    """Bytes of memory available now (MemAvailable), or 2 GiB where that is unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2 << 30


def budget() -> int:
    """What one dlexp process lets itself use: a quarter of the memory available."""
    return memory_available() // 4
