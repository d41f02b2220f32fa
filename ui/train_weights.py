"""The Train area's backbone weights: download or import a Keras backbone's weights in the
background, then offer that backbone in the form. Mixed into `train_view.TrainView`."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from ui.errors import ErrorInfo, show_error


class BackboneWeights:
    """Needs the view's form, progress, stage, runner and `_say`."""

    def get_weights(self, name: str, action: str) -> None:
        """Download or import a Keras backbone's weights in the background."""
        from classifier import weights

        path = ""
        if action == "import":
            path, _ = QFileDialog.getOpenFileName(
                self, "Import weights file", str(Path.home()), "Keras weights (*.h5);;All (*)"
            )
            if not path:
                return

        def job(ctx):
            if path:
                return weights.import_weights(name, path)
            return weights.download_weights(name, ctx.progress, ctx.cancel)

        self.progress.start("Getting weights…")
        self.stage.setText("Getting backbone weights")

        def done(installed) -> None:
            self.progress.finish()
            self.form.refresh_backbones()
            self.stage.setText("Ready.")
            self._say(f"Weights installed: {installed}")

        def failed(info: ErrorInfo) -> None:
            self.progress.finish()
            self.stage.setText("Ready.")
            show_error(self, info)

        self.runner.start(
            "weights",
            job,
            progressed=self.progress.update_progress,
            finished=done,
            failed=failed,
            cancelled=lambda: (self.progress.finish(), self.stage.setText("Ready.")),
        )
