"""Progress of a download or a check: a bar on a terminal, plain lines in logs (and under Ansible).

On a terminal one line is redrawn: total bytes, percentage, rate, time left, and the current file's share. Elsewhere
a line is printed when a file starts and ends, and every `interval` seconds in between, so a log shows that a long
download is alive without filling up.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from hymt.model.errors import human_size


def human_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass
class Progress:
    stream: TextIO
    tty: bool
    verb: str = "fetching"
    interval: float = 15.0  # seconds between progress lines when not on a terminal
    clock: Callable[[], float] = time.monotonic
    total: int = 0
    done: int = 0
    _file: str = ""
    _file_size: int = 0
    _file_done: int = 0
    _started: float = 0.0
    _counted_from: int = 0  # bytes already there when this run started (not part of the rate)
    _last_line: float = 0.0
    _last_draw: float = 0.0
    _drawn: bool = field(default=False, repr=False)

    def start(self, total: int, already: int = 0) -> None:
        self.total, self.done, self._counted_from = total, already, already
        self._started = self._last_line = self.clock()

    def start_file(self, path: str, size: int, offset: int = 0) -> None:
        self._file, self._file_size, self._file_done = path, size, offset
        if not self.tty:
            resumed = f", resuming at {human_size(offset)}" if offset else ""
            self._line(f"{self.verb} {path} ({human_size(size)}{resumed})")
            self._last_line = self.clock()

    def advance(self, count: int) -> None:
        self.done += count
        self._file_done += count
        now = self.clock()
        if self.tty:
            if now - self._last_draw >= 0.1 or self._file_done >= self._file_size:
                self._draw(now)
        elif now - self._last_line >= self.interval:
            self._line(f"{self._file}: {self._share(self._file_done, self._file_size)}; {self._totals(now)}")
            self._last_line = now

    def end_file(self, message: str) -> None:
        if self.tty:
            self._clear()
        self._line(f"{self._file}: {message}")

    def note(self, message: str) -> None:
        if self.tty:
            self._clear()
        self._line(message)

    def finish(self) -> None:
        if self.tty:
            self._clear()

    @property
    def rate(self) -> float:
        elapsed = self.clock() - self._started
        return (self.done - self._counted_from) / elapsed if elapsed > 0 else 0.0

    def _totals(self, now: float) -> str:
        rate = self.rate
        left = (self.total - self.done) / rate if rate > 0 else None
        eta = f", {human_duration(left)} left" if left is not None else ""
        return f"total {self._share(self.done, self.total)}, {human_size(rate)}/s{eta}"

    @staticmethod
    def _share(done: int, size: int) -> str:
        percent = 100 * done / size if size else 100
        return f"{human_size(done)} of {human_size(size)} ({percent:.0f}%)"

    def _draw(self, now: float) -> None:
        width = shutil.get_terminal_size((100, 20)).columns
        percent = self.done / self.total if self.total else 1.0
        bar_width = 24
        filled = int(bar_width * min(1.0, percent))
        bar = "[" + "#" * filled + "." * (bar_width - filled) + "]"
        file_percent = 100 * self._file_done / self._file_size if self._file_size else 100
        text = f"{bar} {self._totals(now)} | {self._file} {file_percent:.0f}%"
        self.stream.write("\r" + text[: width - 1].ljust(width - 1))
        self.stream.flush()
        self._drawn = True
        self._last_draw = now

    def _clear(self) -> None:
        if self._drawn:
            width = shutil.get_terminal_size((100, 20)).columns
            self.stream.write("\r" + " " * (width - 1) + "\r")
            self._drawn = False

    def _line(self, text: str) -> None:
        self.stream.write(f"hymt: {text}\n")
        self.stream.flush()
