"""Guards against Qt binding releases with reference-counting bugs that crash long sessions."""

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    one = Signal(object)
    two = Signal(object, object)


def test_emitting_signals_keeps_the_singletons_alive(qtbot):
    # PySide6 6.12.0 dropped a reference to True on every emit(): after enough progress
    # signals the interpreter aborted with "deallocating True or False".
    emitter = _Emitter()
    received = []
    emitter.one.connect(received.append)
    emitter.two.connect(lambda a, b: None)
    before = {
        name: sys.getrefcount(value)
        for name, value in (("True", True), ("False", False), ("None", None))
    }
    for i in range(20000):
        emitter.one.emit(None)
        emitter.two.emit(i, None)
    received.clear()
    after = {
        name: sys.getrefcount(value)
        for name, value in (("True", True), ("False", False), ("None", None))
    }
    for name in before:
        assert after[name] >= before[name] - 10, (name, before[name], after[name])
