"""Progress of long runs, on a terminal only.

``check`` and ``fix`` draw one line on stderr, ``nova-secaudit: 120/664
files (18%)``, redrawn at most ten times a second and erased at the end.
It appears only when stderr is a terminal outside CI (no ``CI`` variable,
``TERM`` not ``dumb``), so logs, pipes and redirected output never see it,
and it needs no optional package.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable, TextIO

REDRAW_SECONDS = 0.1


def interactive(stream: TextIO) -> bool:
    try:
        is_terminal = stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream
        return False
    return is_terminal and not os.environ.get("CI") and \
        os.environ.get("TERM") != "dumb"


class Progress:
    """``with Progress(total, label) as advance:`` where ``advance`` is
    None when nothing is drawn, else ``advance(n)`` after n more files."""

    def __init__(self, total: int, label: str = "nova-secaudit",
                 stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.total, self.label, self.clock = total, label, clock
        self.stream = stream if stream is not None else sys.stderr
        self.done, self.width, self.drawn_at = 0, 0, None

    def __enter__(self) -> Callable[[int], None] | None:
        if not self.total or not interactive(self.stream):
            return None
        self._draw()
        return self.advance

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.clock() - self.drawn_at >= REDRAW_SECONDS or \
                self.done >= self.total:
            self._draw()

    def _draw(self) -> None:
        percent = 100 * self.done // self.total
        text = f"{self.label}: {self.done}/{self.total} files ({percent}%)"
        self._write("\r" + text.ljust(self.width))
        self.width, self.drawn_at = len(text), self.clock()

    def __exit__(self, *exc_info) -> None:
        if self.drawn_at is not None:  # leave the line as we found it
            self._write("\r" + " " * self.width + "\r")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a terminal that went away must not end the run
