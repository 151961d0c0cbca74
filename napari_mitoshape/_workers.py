"""One thread worker at a time per widget (napari.qt.threading), its errors as one line in
napari's notification area: the widgets' shared plumbing. Loaded by napari only."""

from __future__ import annotations

from napari.utils.notifications import show_error


def error_line(exc: BaseException) -> str:
    """The notification of a worker's error: the message of a user error, else its type too."""
    from shapelib import InputError

    if isinstance(exc, (InputError, OSError)):
        return f"mitoshape: {exc}"
    return f"mitoshape: {type(exc).__name__}: {exc}"


class Working:
    """A widget's worker slot: `start` runs one worker, `busy` says whether one runs."""

    worker = None  # the running thread worker, if any

    def busy(self) -> bool:
        """True while a worker runs."""
        return self.worker is not None

    def failed(self, exc: BaseException) -> None:
        """Said in the notification area (a widget may also reset its state)."""
        show_error(error_line(exc))

    def start(self, worker, done) -> None:
        """Run `worker` (made with ``ignore_errors=True``); `done(result)` in the main thread."""

        def returned(result):
            self.worker = None
            done(result)

        def finished():
            if self.worker is worker:  # an error or a quit: no result came
                self.worker = None

        worker.returned.connect(returned)
        worker.errored.connect(self.failed)
        worker.finished.connect(finished)
        self.worker = worker
        worker.start()
