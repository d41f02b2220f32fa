"""At 2x scaling thumbnails and previews have twice the pixels at the same logical size, so
they are as crisp as the text beside them (issue 17, item 21)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from datasets import noisy_image

from ui.thumbnails import ThumbnailLoader

ROOT = Path(__file__).parent.parent

# Run under QT_SCALE_FACTOR=2 in a fresh process: the scale is fixed when Qt starts.
MEASURE = """
import json, sys, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
from classifier.preprocessing import Preprocessing
from ui.image_preview import ImagePreview
from ui.tasks import TaskRunner
from ui.thumbnails import ThumbnailLoader

app = QApplication([])
big, small = Path(sys.argv[1]), Path(sys.argv[2])
loader = ThumbnailLoader()
pixmaps = {}
loader.loaded.connect(lambda path, pixmap: pixmaps.__setitem__(path.name, pixmap))
loader.request(big)
loader.request(small)
runner = TaskRunner()
preview = ImagePreview(runner, "preview", size=200, minimum=200, placeholder="")
preview.resize(300, 300)
preview.show()
preview.show_image(big, Preprocessing(), "")
deadline = time.monotonic() + 20
while (len(pixmaps) < 2 or preview.pixmap().isNull()) and time.monotonic() < deadline:
    app.processEvents()  # a test harness, not the app: nothing else runs meanwhile

def describe(p):
    size = p.deviceIndependentSize()
    return [p.width(), p.height(), p.devicePixelRatio(), size.width(), size.height()]

label = preview.image.size()
print(json.dumps({
    "app_ratio": app.devicePixelRatio(),
    "big": describe(pixmaps["big.png"]),
    "small": describe(pixmaps["small.png"]),
    "preview": describe(preview.pixmap()),
    "label": [label.width(), label.height()],
}))
loader.shutdown()
runner.shutdown()
"""


def measure_at(scale: str, big: Path, small: Path) -> dict:
    env = dict(os.environ, QT_SCALE_FACTOR=scale, QT_QPA_PLATFORM="offscreen")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(big), str(small)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_at_2x_pictures_have_twice_the_pixels_at_the_same_logical_size(tmp_path):
    rng = np.random.default_rng(0)
    big, small = tmp_path / "big.png", tmp_path / "small.png"
    noisy_image(rng, (200, 40, 40), size=(400, 300)).save(big)
    noisy_image(rng, (40, 40, 200), size=(48, 40)).save(small)
    one, two = measure_at("1", big, small), measure_at("2", big, small)
    assert (one["app_ratio"], two["app_ratio"]) == (1.0, 2.0)

    assert one["big"] == [96, 72, 1.0, 96, 72]
    assert two["big"] == [192, 144, 2.0, 96, 72]  # twice the pixels, the same size on screen
    # A small image is never enlarged: the same pixels, drawn at the same size as at 1x.
    assert one["small"] == two["small"] == [48, 40, 1.0, 48, 40]

    # The preview fills its label at 1x and at 2x, with the label's device pixels at 2x.
    for measured, ratio in ((one, 1.0), (two, 2.0)):
        width, height, pixel_ratio, logical_w, logical_h = measured["preview"]
        assert pixel_ratio == ratio
        assert (width, height) == (round(logical_w * ratio), round(logical_h * ratio))
        assert logical_w == measured["label"][0] or logical_h == measured["label"][1]


def test_the_loader_decodes_for_the_ratio_it_is_given(qtbot, tmp_path):
    path = tmp_path / "frame.png"
    noisy_image(np.random.default_rng(1), (90, 90, 90), size=(300, 150)).save(path)
    loader = ThumbnailLoader(size=40, ratio=2.0)
    assert loader.pixel_side == 80
    with qtbot.waitSignal(loader.loaded, timeout=10000) as loaded:
        loader.request(path)
    pixmap = loaded.args[1]
    assert (pixmap.width(), pixmap.height(), pixmap.devicePixelRatio()) == (80, 40, 2.0)
    assert pixmap.deviceIndependentSize().toSize().width() == 40
    loader.shutdown()
