"""Model files made to hurt: damaged or hostile descriptions, zip bombs, leftovers of kills.

Each must give "the model file ... is damaged: <why>" (through load_model and through the
command line), never wrong output, an internal error, a write outside Sortscope's folders or
gigabytes of memory.
"""

import io
import json
import math
import os
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from datasets import make_dataset

from classifier import cli, leftovers, modelfile
from classifier.modelfile import ModelFileError, load_model, save_model
from classifier.scan import scan_dataset
from classifier.train import train
from classifier.types import TrainConfig


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile-data")
    scan = scan_dataset(make_dataset(root, per_class=12))
    outcome = train(scan, TrainConfig(backbone="tiny_test", epochs=3, learning_rate=0.01))
    return save_model(outcome.model, root / "good.sortscope")


def rewrite(src: Path, dst: Path, change=None, raw: bytes | None = None) -> Path:
    """A copy of `src` whose sortscope.json went through `change` (or is `raw`)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == modelfile.META_NAME:
                if raw is not None:
                    data = raw
                else:
                    meta = json.loads(data)
                    change(meta)
                    data = json.dumps(meta).encode()
            zout.writestr(item, data)
    return dst


def setter(dotted: str, value):
    def change(meta: dict) -> None:
        *parents, last = dotted.split(".")
        node = meta
        for key in parents:
            node = node[key]
        node[last] = value

    return change


# Each breaks one rule; all must read as damage. The head of the good model has 3 outputs.
VARIANTS = {
    "four names on a three-output head": setter("class_names", ["Blue Sky", "Red", "green", "x"]),
    "two names on a three-output head": setter("class_names", ["Blue Sky", "Red"]),
    "the same name three times": setter("class_names", ["fruit"] * 3),
    "a string instead of a list": setter("class_names", "abc"),
    "null class names": setter("class_names", [None, None, None]),
    "int class names": setter("class_names", [1, 2, 3]),
    "a newline in a class name": setter("class_names", ["a\nb", "Red", "green"]),
    "NaN input size": setter("backbone.input_size", math.nan),
    "NaN percentile": setter("input.preprocessing.high_percent", math.nan),
    "wrong feature_dim": setter("backbone.feature_dim", 100),
    "schema version true": setter("schema_version", True),
    "schema version -1": setter("schema_version", -1),
    "schema version '2'": setter("schema_version", "2"),
    "no schema version": lambda meta: meta.pop("schema_version"),
    "no backbone": lambda meta: meta.pop("backbone"),
    "backbone a list": setter("backbone", [1]),
    "escaping backbone name": setter("backbone.name", "../../../../tmp/x/ESCAPED"),
    "escaping backbone version": setter("backbone.version", "../../../../tmp/x/ESCAPED"),
    "escaping FITS extension": setter("input.preprocessing.hdu", "../../x"),
    "unknown layer": setter("backbone.layer", "no_such_layer"),
    "head without softmax": setter("head.activations", ["relu"]),
    "two head layers listed for one": setter("head.activations", ["relu", "softmax"]),
    "history not a list": setter("history", {"epoch": 1}),
}
RAW = {
    "deeply nested JSON": b'{"format": "sortscope-model", "x": ' + b"[" * 100_000 + b"]" * 100_000,
    "not UTF-8": b'{"format": "sortscope-model", "schema_version": 2, "x": "\xff"}',
}


def variant(good: Path, tmp_path: Path, name: str) -> Path:
    dst = tmp_path / "hostile.sortscope"
    if name in RAW:
        return rewrite(good, dst, raw=RAW[name])
    return rewrite(good, dst, VARIANTS[name])


ALL = [*VARIANTS, *RAW]
# Found only against the network and head; `info` reads the description alone.
NETWORK_ONLY = {"unknown layer", "two head layers listed for one"}


@pytest.mark.parametrize("name", ALL)
def test_damaged_descriptions_are_refused_on_load(good, tmp_path, name):
    path = variant(good, tmp_path, name)
    with pytest.raises(ModelFileError, match=r"is damaged") as info:
        load_model(path, lazy=True)
    assert "train and save the model again" in info.value.todo


@pytest.mark.parametrize("name", ALL)
def test_the_command_line_says_damaged(good, tmp_path, capsys, name):
    path = variant(good, tmp_path, name)
    folder = make_dataset(tmp_path / "night", per_class=1) / "Red"
    csv_path = tmp_path / "out.csv"
    commands = [["classify", folder, "--model", path, "--csv", csv_path]]
    if name not in NETWORK_ONLY:
        commands.append(["info", path])
    for args in commands:
        capsys.readouterr()
        assert cli.main([str(a) for a in args]) == cli.EXIT_FAILURE
        err = capsys.readouterr().err
        assert "is damaged" in err and "internal error" not in err, err
    assert not csv_path.exists()


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def test_no_model_file_makes_classify_write_outside_its_folders(
    good, tmp_path, tmp_path_factory, isolated_dirs, capsys
):
    cache = Path(os.environ["SORTSCOPE_CACHE_DIR"])
    outside = tmp_path / "outside"
    aimed = os.path.relpath(outside / "ESCAPED", cache / "features")  # ../../.. to `outside`
    folder = make_dataset(tmp_path / "night", per_class=1) / "Red"
    base = tmp_path_factory.getbasetemp()
    for field in ("backbone.name", "backbone.version", "input.preprocessing.hdu"):
        for value in (aimed, "../../../../tmp/x/ESCAPED", str(outside / "ESCAPED")):
            path = rewrite(good, tmp_path / "evil.sortscope", setter(field, value))
            before = _files_under(base)
            rc = cli.main(["classify", str(folder), "--model", str(path), "--csv", "out.csv"])
            assert rc == cli.EXIT_FAILURE
            assert "is damaged" in capsys.readouterr().err
            assert _files_under(base) == before, (field, value)
    assert not outside.exists() and not Path("/tmp/x/ESCAPED").exists()


def _bomb_zip(path: Path, members: dict[str, bytes], bomb: str, inflated: int) -> Path:
    """A zip with `members` and one member `bomb` of `inflated` zero bytes, deflated."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        with archive.open(bomb, "w") as stream:
            zeros = bytes(1 << 20)
            for _ in range(inflated >> 20):
                stream.write(zeros)
    return path


def _members(good: Path, *names: str) -> dict[str, bytes]:
    with zipfile.ZipFile(good) as archive:
        return {n: archive.read(n) for n in names}


def _peak_while(fn) -> int:
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_zip_bomb_model_is_refused_without_inflating_it(good, tmp_path):
    # 300 MB of zeros in a 0.3 MB member: refused from its declared size, nothing inflated.
    members = _members(good, modelfile.META_NAME, modelfile.HEAD_NAME)
    bomb = _bomb_zip(tmp_path / "bomb.sortscope", members, modelfile.KERAS_NAME, 300 << 20)
    assert bomb.stat().st_size < 2 << 20

    def load():
        with pytest.raises(ModelFileError, match=r"model\.keras would inflate to 314,572,800"):
            load_model(bomb, lazy=True)

    assert _peak_while(load) < 20 << 20


def test_a_zip_bomb_inside_the_head_is_refused(good, tmp_path):
    inner = _bomb_zip(tmp_path / "head.npz", {}, "kernel_0.npy", 300 << 20).read_bytes()
    members = _members(good, modelfile.META_NAME, modelfile.KERAS_NAME)
    path = tmp_path / "bomb.sortscope"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**members, modelfile.HEAD_NAME: inner}.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match=r"head\.npz would inflate"):
        load_model(path, lazy=True)


def test_a_member_larger_than_it_declares_stops_at_the_declared_size(good, tmp_path):
    members = _members(good, modelfile.META_NAME, modelfile.HEAD_NAME)
    bomb = _bomb_zip(tmp_path / "liar.sortscope", members, modelfile.KERAS_NAME, 64 << 20)
    _declare_size(bomb, modelfile.KERAS_NAME, 1000)

    def load():
        with pytest.raises(ModelFileError, match="damaged"):
            load_model(bomb, lazy=True)

    assert _peak_while(load) < 20 << 20


def _declare_size(path: Path, name: str, size: int) -> None:
    """Rewrite a member's uncompressed size in the zip's local and central headers."""
    _patch_header(path, name, local=(22, "<I", size), central=(24, "<I", size))


def _patch_header(path: Path, name: str, local=None, central=None) -> None:
    """Write (offset, struct format, value) into a member's local and central headers."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        at = archive.getinfo(name).header_offset
        entry = archive.start_dir
    if local:
        struct.pack_into(local[1], data, at + local[0], local[2])
    while data[entry : entry + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, entry + 28)
        if central and data[entry + 46 : entry + 46 + name_len] == name.encode():
            struct.pack_into(central[1], data, entry + central[0], central[2])
        entry += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("member", "patch", "reason"),
    [
        (modelfile.META_NAME, (8, "<H", 0x1), "sortscope.json is encrypted"),
        (modelfile.META_NAME, (10, "<H", 99), "sortscope.json is compressed with method 99"),
        (modelfile.KERAS_NAME, (8, "<H", 0x1), "model.keras is encrypted"),
        (modelfile.HEAD_NAME, (10, "<H", 12), "head.npz is compressed with method 12"),
    ],
)
def test_encrypted_or_foreign_compression_is_damage(good, tmp_path, capsys, member, patch, reason):
    path = tmp_path / "odd.sortscope"
    path.write_bytes(good.read_bytes())
    _patch_header(path, member, central=patch)
    with pytest.raises(ModelFileError, match=f"is damaged: {reason}"):
        load_model(path, lazy=True)
    assert cli.main(["classify", str(tmp_path), "--model", str(path), "--csv", "x.csv"]) == 1
    assert "internal error" not in capsys.readouterr().err


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_next_save_sweeps_what_a_killed_save_left(good, tmp_path, monkeypatch):
    model = load_model(good)
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp_root))
    target = tmp_path / "models" / "stars.sortscope"
    target.parent.mkdir()
    dead, alive = _dead_pid(), os.getpid()
    stale = target.with_name(f".stars.sortscope.{dead}-0123456789ab.tmp")
    live = target.with_name(f".stars.sortscope.{alive}-0123456789ab.tmp")
    legacy = target.with_name(".stars.sortscope.0123456789ab.tmp")  # before names had a pid
    other = target.with_name(f".other.sortscope.{dead}-0123456789ab.tmp")
    for p in (stale, live, legacy, other):
        p.write_bytes(b"half a model")
    day_ago = time.time() - leftovers.STALE_AFTER_S - 60
    os.utime(legacy, (day_ago, day_ago))
    killed_folder = temp_root / f"sortscope-save-{dead}-abc123"
    running_folder = temp_root / f"sortscope-save-{alive}-def456"
    for folder in (killed_folder, running_folder):
        folder.mkdir()
        (folder / "model.keras").write_bytes(b"x" * 1000)

    save_model(model, target)

    assert load_model(target).class_names == model.class_names
    left = {p.name for p in target.parent.iterdir()}
    assert left == {"stars.sortscope", live.name, other.name}
    assert not killed_folder.exists() and running_folder.exists()
    assert sorted(p.name for p in temp_root.iterdir()) == [running_folder.name]


def test_labels_are_one_per_line_for_any_accepted_name(good, tmp_path):
    from classifier.modelfile import export_keras

    _, labels = export_keras(load_model(good), tmp_path / "plain.keras")
    lines = labels.read_text(encoding="utf-8").splitlines()
    assert lines == list(load_model(good, lazy=True).class_names)


def test_a_zero_byte_head_is_damage_not_a_crash(good, tmp_path):
    members = _members(good, modelfile.META_NAME, modelfile.KERAS_NAME)
    path = tmp_path / "m.sortscope"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in {**members, modelfile.HEAD_NAME: b""}.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="damaged"):
        load_model(path, lazy=True)
    npz = io.BytesIO()
    np.savez(npz, kernel_0=np.zeros((192, 3), np.float32), bias_0=np.full(3, np.nan, np.float32))
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in {**members, modelfile.HEAD_NAME: npz.getvalue()}.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="NaN or infinite weights"):
        load_model(path, lazy=True)


def test_the_sortscope_command_refuses_an_escaping_model(good, tmp_path, tmp_path_factory):
    # The reported attack, end to end through the installed command's entry point.
    path = rewrite(good, tmp_path / "evil.sortscope", setter("backbone.name", "../../x/ESCAPED"))
    folder = make_dataset(tmp_path / "night", per_class=1) / "Red"
    base = tmp_path_factory.getbasetemp()
    before = _files_under(base)
    main = Path(__file__).resolve().parents[1] / "main.py"
    command = ["classify", str(folder), "--model", str(path), "--csv", "x.csv"]
    out = subprocess.run(
        [sys.executable, str(main), *command],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        cwd=tmp_path,
        timeout=300,
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "is damaged: backbone.name is '../../x/ESCAPED'" in out.stderr
    assert _files_under(base) == before


def test_leftovers_of_a_process_that_died_mid_save_are_recognised_and_swept(tmp_path):
    # A child opens a save's temporary file and folder, then dies without cleaning up (as
    # under kill -9): the names they really get must be the ones a later sweep recognises.
    target = tmp_path / "m.sortscope"
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    code = (
        "import os, tempfile, sys; tempfile.tempdir = sys.argv[2]\n"
        "from classifier import leftovers; from classifier.atomic import atomic_write\n"
        "folder = leftovers.temporary_folder('save')\n"
        "open(os.path.join(folder.name, 'model.keras'), 'wb').write(b'x' * 1000)\n"
        "writing = atomic_write(sys.argv[1]); f = writing.__enter__(); f.write(b'half')\n"
        "os._exit(9)\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", code, str(target), str(temp_root)], env=os.environ.copy()
    )
    assert child.returncode == 9
    assert len(list(tmp_path.glob(".m.sortscope.*.tmp"))) == 1
    assert len(list(temp_root.glob("sortscope-save-*"))) == 1
    assert leftovers.sweep_beside(target) == 1
    assert leftovers.sweep_temporary_folders(temp_root) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"] and not any(temp_root.iterdir())


def test_a_network_description_nested_too_deeply_is_damage(good, tmp_path):
    with zipfile.ZipFile(good) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    inner = io.BytesIO()
    original = io.BytesIO(members[modelfile.KERAS_NAME])
    with zipfile.ZipFile(original) as keras_zip, zipfile.ZipFile(inner, "w") as out:
        for item in keras_zip.namelist():
            data = keras_zip.read(item)
            if item == "config.json":
                data = b'{"config": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
            out.writestr(item, data)
    members[modelfile.KERAS_NAME] = inner.getvalue()
    path = tmp_path / "deep.sortscope"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match=r"model\.keras is nested too deeply"):
        load_model(path, lazy=True)


def test_a_model_with_a_class_named_like_a_bucket_says_to_rename_it(good, tmp_path, capsys):
    # Saved before such names were refused: no damage, but "uncertain" would mix with the
    # below-threshold results in the CSV and in OUTPUT/uncertain/.
    rename = setter("class_names", ["Blue Sky", "uncertain", "green"])
    path = rewrite(good, tmp_path / "old.sortscope", rename)
    with pytest.raises(ModelFileError, match="has a class named 'uncertain'") as info:
        load_model(path, lazy=True)
    assert "Rename that class's folder" in info.value.todo and "damaged" not in str(info.value)
    assert cli.main(["info", str(path)]) == cli.EXIT_FAILURE
    assert "has a class named 'uncertain'" in capsys.readouterr().err
