import pickle
import struct

import numpy as np
import pytest

from classifier.backbones import _lite_weights_file
from classifier.torchfile import _LEGACY_MAGIC, TorchFileError, read_state_dict


def test_reads_the_shipped_lite0_checkpoint():
    state = read_state_dict(_lite_weights_file("lite0"))
    assert len(state) == 296
    assert state["_blocks.0._depthwise_conv.weight"].shape == (32, 1, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    learned = sum(v.size for k, v in state.items() if "running" not in k and "num_batches" not in k)
    assert round(learned / 1e6, 2) == 4.65  # 4.69 M with the BatchNorm statistics
    assert np.isfinite(state["_conv_head.weight"]).all()


def _legacy_file(path, payload: bytes):
    with open(path, "wb") as f:
        for header in (_LEGACY_MAGIC, 1001, {"little_endian": True}):
            pickle.dump(header, f, protocol=2)
        f.write(payload)


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > /dev/null",))


def test_refuses_to_run_code_from_the_file(tmp_path):
    path = tmp_path / "evil.pth"
    _legacy_file(path, pickle.dumps({"x": _Evil()}, protocol=2))
    with pytest.raises(TorchFileError, match="refusing"):
        read_state_dict(path)


def test_truncated_and_foreign_files(tmp_path):
    real = _lite_weights_file("lite0").read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(real[: len(real) // 2])
    with pytest.raises(TorchFileError, match=r"truncated|damaged"):
        read_state_dict(cut)
    other = tmp_path / "other.pth"
    other.write_bytes(pickle.dumps(12345) + struct.pack("<q", 0))
    with pytest.raises(TorchFileError, match="not a legacy"):
        read_state_dict(other)
