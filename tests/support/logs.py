"""Call logs split into parts, as the scale-out path reads them."""

from __future__ import annotations

from pathlib import Path


def log_in_parts(calls: Path, parts: int = 3, repeat_row: int = 5) -> list[tuple[str, bytes]]:
    """The CSV log as `parts` CSV parts (name, bytes); the last part repeats one call of the
    first (a call exported twice, which only the whole log shows as a duplicate)."""
    text = calls.read_text().splitlines(keepends=True)
    header, rows = text[0], text[1:]
    size = len(rows) // parts
    chunks = [rows[i * size:(i + 1) * size] for i in range(parts - 1)]
    chunks.append([*rows[(parts - 1) * size:], rows[repeat_row]])
    return [(f"part-{i}.csv", (header + "".join(chunk)).encode())
            for i, chunk in enumerate(chunks)]
