"""The checkpoint stage of training (a workflow over `segtrain.io`): the run folder, checked
before anything is read and opened through the output guard once the network is built, with
the config and the split; after every validation ``best.pt`` (when the held-out IoU improved),
``last.pt`` and ``log.csv``; at the end the curves and the post-processing chosen on the
held-out images."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from shapelib.io import DiskFullError, OutputExistsError, check_output_folder, open_output_folder

from .. import io
from ..figures import plot_training_curves
from ..training._batches import TrainData
from ..training._config import TrainConfig, model_build_params
from ..training._loop import LoopState
from ..training._validate import choose_postprocess, predict_normalised, validation_config

__all__ = ["RunFolder", "check_run_folder"]

log = logging.getLogger(__name__)

FILES = ("config.json", "config.yaml", "best.pt", "last.pt", "log.csv", "curves.png")


def _input_paths(cfg: TrainConfig) -> list[Path]:
    """What a training reads (never written over, never holding the run folder)."""
    paths = [Path(s.path) for s in (*cfg.train, *cfg.val)]
    paths += [Path(s.label_path) for s in (*cfg.train, *cfg.val) if s.label_path]
    paths += [Path(p) for p in cfg.unlabelled]
    return paths + ([Path(cfg.init_from)] if cfg.init_from else [])


def check_run_folder(cfg: TrainConfig, *, resume: bool, overwrite: bool) -> None:
    """Refuse to overwrite a run by accident (the output guard), or to resume one that is not
    there; writes nothing."""
    run_dir = Path(cfg.run_dir)
    try:
        check_output_folder(
            run_dir, command="train", inputs=_input_paths(cfg), overwrite=overwrite, resume=resume
        )
    except OutputExistsError as err:
        raise OutputExistsError(f"{err} (--resume continues an earlier run.)") from None
    if resume and not (run_dir / "last.pt").is_file():
        raise FileNotFoundError(f"cannot resume: {run_dir / 'last.pt'} does not exist.")


class RunFolder:
    """A run folder opened for `cfg` (overwrite removes only an earlier run's files), with its
    config and `data`'s split written; `save` is the loop's checkpoint stage, `finish` its
    end. `model` and `opt` are the trained network and optimiser."""

    def __init__(
        self, cfg: TrainConfig, data: TrainData, model, opt, *, resume, overwrite, terms=()
    ):
        self.cfg, self.data, self.model, self.opt = cfg, data, model, opt
        self.terms = tuple(terms)  # loss terms whose state a resumed run needs
        self.path = Path(cfg.run_dir)
        self.saved_step: int | None = None  # the step last.pt holds (None: not yet written)
        kw = {"inputs": _input_paths(cfg), "overwrite": overwrite, "resume": resume}
        folder = open_output_folder(self.path, command="train", details={"model": cfg.model}, **kw)
        folder.claim(*FILES, io.SPLIT_FILE, io.POSTPROCESS_FILE)
        if not resume:  # a choice of an earlier run in this folder must not outlive it
            (self.path / io.POSTPROCESS_FILE).unlink(missing_ok=True)
        io.write_run_config(self.path, cfg)
        io.write_config(self.path / io.SPLIT_FILE, data.split)

    def _payload(self, state: LoopState) -> dict:
        cfg = self.cfg
        return {
            "model_name": cfg.model,
            "model_params_json": json.dumps(model_build_params(cfg), sort_keys=True),
            "interactive": cfg.interactive,
            "clicks_json": cfg.clicks.model_dump_json() if cfg.interactive else "",
            "config_json": cfg.model_dump_json(),
            "state_dict": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "step": state.step,
            "best_score": state.best,
            "bad_evals": state.bad,
            "elapsed_s": state.elapsed_s,
            "log_json": json.dumps(state.rows),
            "warned": state.warned,
            "terms": [t.state_dict() for t in self.terms],
        }

    def save(self, state: LoopState, improved: bool) -> None:
        """After a validation: ``best.pt`` when it improved, ``last.pt`` and ``log.csv``."""
        payload = self._payload(state)
        try:
            if improved:
                io.save_checkpoint(self.path / "best.pt", payload)
            io.save_checkpoint(self.path / "last.pt", payload)
            io.write_log_csv(self.path / "log.csv", state.rows)
        except DiskFullError as err:  # every file as it was: say how to go on
            if self.saved_step is not None:
                again = f"with --resume (last.pt holds step {self.saved_step})"
            elif (self.path / "last.pt").is_file():  # a resumed run's
                again = "with --resume"
            else:
                again = "with --overwrite (nothing to resume yet)"
            full = DiskFullError(f"{err}, {again}")
            full.errno = err.errno
            raise full from err
        self.saved_step = state.step

    def finish(self, state: LoopState) -> Path:
        """The curves, and the post-processing chosen on the held-out images with the best
        weights; the run folder."""
        data = self.data
        if state.rows:
            curves = plot_training_curves(state.rows, note=data.description)
            io.write_figure(self.path / "curves.png", curves)
        if not (data.val.held_out and (self.path / "best.pt").is_file()):
            return self.path
        self.model.load_state_dict(io.load_checkpoint(self.path / "best.pt")["state_dict"])
        probs = predict_normalised(self.model, data.val.images, validation_config(self.cfg))
        choice = choose_postprocess(probs, data.val.masks)
        chosen = {**choice.as_dict(), "chosen_on": "validation"}
        io.write_config(self.path / io.POSTPROCESS_FILE, chosen)
        lo, hole = choice.min_size_px, choice.max_hole_px
        log.info("post-processing chosen on validation: min_size_px %d, max_hole_px %d", lo, hole)
        return self.path
