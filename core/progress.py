"""A terminal progress bar for long management commands."""

from __future__ import annotations

import time


class ProgressBar:
    def __init__(self, total: int, *, label: str = "", stream=None, width: int = 30):
        self.total = max(total, 1)
        self.label = label
        self.stream = stream
        self.width = width
        self.started = time.perf_counter()
        self._last = 0.0

    def update(self, done: int, item: str = "") -> None:
        if self.stream is None:
            return
        now = time.perf_counter()
        if done < self.total and now - self._last < 0.1:
            return
        self._last = now
        filled = int(self.width * done / self.total)
        bar = "█" * filled + "░" * (self.width - filled)
        text = f"\r{self.label} {bar} {done}/{self.total} {item[:40]:<40}"
        self.stream.write(text, ending="") if hasattr(self.stream, "style_func") else self.stream.write(text)
        self.stream.flush()

    def finish(self) -> None:
        if self.stream is not None:
            self.update(self.total)
            self.stream.write("\n", ending="") if hasattr(self.stream, "style_func") else self.stream.write(
                "\n"
            )
