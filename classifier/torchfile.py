"""Read PyTorch's legacy (pre-1.6) checkpoint format with the standard library and NumPy.

The default backbone's weights ship in that format inside a pip package. We never want torch as a
dependency, and we never want to run code from a file, so the unpickler below resolves only the
handful of names a plain state dict needs and refuses everything else.

Layout of a legacy file: four pickles (magic number, protocol version, system info, the state dict
whose tensors point at storages through persistent ids), a pickle listing storage keys, then each
storage's raw bytes prefixed by its element count as a little-endian int64.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class TorchFileError(ValueError):
    """The file is not a readable legacy PyTorch state dict."""


@dataclass
class _StorageType:
    dtype: type


@dataclass
class _Storage:
    dtype: type
    data: np.ndarray | None = None


@dataclass
class _TensorRef:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage, storage_offset, size, stride, *_unused):
    return _TensorRef(storage, int(storage_offset), tuple(size), tuple(stride))


class _SafeUnpickler(pickle.Unpickler):
    def __init__(self, file, storages: dict[str, _Storage]):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        raise TorchFileError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, saved_id):
        if not isinstance(saved_id, tuple) or saved_id[0] != "storage":
            raise TorchFileError("unexpected persistent id in weights file")
        storage_type, key = saved_id[1], str(saved_id[2])
        if not isinstance(storage_type, _StorageType):
            raise TorchFileError("unexpected storage type in weights file")
        return self._storages.setdefault(key, _Storage(storage_type.dtype))


def _plain_load(f: io.BufferedIOBase):
    # The header pickles hold only ints, strings and dicts: no class may be resolved.
    return _SafeUnpickler(f, {}).load()


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Return the tensors of a legacy PyTorch checkpoint as NumPy arrays, by name."""
    try:
        with open(path, "rb") as f:
            if _plain_load(f) != _LEGACY_MAGIC:
                raise TorchFileError("not a legacy PyTorch checkpoint")
            _plain_load(f)  # protocol version
            _plain_load(f)  # system info
            storages: dict[str, _Storage] = {}
            state = _SafeUnpickler(f, storages).load()
            keys = _plain_load(f)
            for key in keys:
                storage = storages[str(key)]
                (count,) = struct.unpack("<q", f.read(8))
                itemsize = np.dtype(storage.dtype).itemsize
                raw = f.read(count * itemsize)
                if len(raw) != count * itemsize:
                    raise TorchFileError("weights file is truncated")
                storage.data = np.frombuffer(raw, dtype=storage.dtype)
    except (pickle.UnpicklingError, EOFError, struct.error, KeyError) as exc:
        raise TorchFileError(f"weights file is damaged: {exc}") from exc
    if not isinstance(state, dict):
        raise TorchFileError("weights file does not hold a state dict")
    return {name: _materialise(ref) for name, ref in state.items() if isinstance(ref, _TensorRef)}


def _materialise(ref: _TensorRef) -> np.ndarray:
    data = ref.storage.data
    if data is None:
        raise TorchFileError("weights file references a missing storage")
    itemsize = data.itemsize
    view = np.lib.stride_tricks.as_strided(
        data[ref.offset :],
        shape=ref.size,
        strides=tuple(s * itemsize for s in ref.stride),
        writeable=False,
    )
    return np.array(view)
