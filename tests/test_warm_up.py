"""The warm-up loads TensorFlow's native libraries before importing it (without the GIL)."""


def test_tensorflow_libraries_are_found_and_loaded():
    from ui.warm_up import LIBRARIES, preload_tensorflow_libraries

    assert preload_tensorflow_libraries() == list(LIBRARIES)
    assert preload_tensorflow_libraries() == list(LIBRARIES)  # again: already loaded, no harm
