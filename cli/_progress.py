"""One progress bar for every long command (rich), driven by the library's callbacks."""

from __future__ import annotations

from contextlib import contextmanager

from ._errors import check_stop


@contextmanager
def progress_bar(label: str, total: int | None = None):
    """A transient rich bar; yields an object with ``advance(k)`` and ``update(done, total)``.

    Library functions take either callback style: ``progress(k)`` (k more finished) or
    ``progress(done, total)``. Each call first raises a stop (SIGINT, SIGTERM) that a library
    swallowed (`check_stop`).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    )
    task = bar.add_task(label, total=total)

    class _Handle:
        def advance(self, k: int = 1) -> None:
            check_stop()
            bar.advance(task, k)

        def update(self, done: int, total: int) -> None:
            check_stop()
            bar.update(task, completed=done, total=total)

    with bar:
        yield _Handle()
