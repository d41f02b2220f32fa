"""A folder with no images to classify says what it holds and what to do, quickly."""

from pathlib import Path

import pytest

from classifier.errors import SortscopeError
from classifier.folder_survey import no_images_error, require_image_files, survey_folder


def touch(path: Path, text: str = "x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_images_only_in_sub_folders_are_counted_and_sub_folders_suggested(tmp_path):
    for i in range(7):
        touch(tmp_path / f"night{i % 2}" / f"img{i}.png")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / ".hidden" / "secret.png")
    survey = survey_folder(tmp_path, recursive=False)
    assert survey.subfolder_images == 7 and survey.complete
    error = no_images_error(tmp_path, recursive=False, subfolders_hint="use --recursive")
    assert "7 images in its sub-folders" in error.what
    assert error.todo == "Use --recursive to classify them."
    assert "Turn on Include sub-folders" in no_images_error(tmp_path, False).todo


def test_counting_stops_at_the_cap_and_says_more_than(tmp_path):
    for d in range(6):
        for i in range(5):
            touch(tmp_path / f"d{d}" / f"{i}.jpg")
    survey = survey_folder(tmp_path, recursive=False, count_cap=10)
    assert not survey.complete and 10 <= survey.subfolder_images < 30
    error = no_images_error(tmp_path, False)
    assert "30 images" in error.what  # under the default cap: the exact count
    from classifier.folder_survey import survey_error

    assert f"more than {survey.subfolder_images} images" in survey_error(survey).what


def test_the_time_limit_bounds_a_huge_tree(tmp_path):
    for d in range(50):
        touch(tmp_path / f"d{d:02d}" / "a.tif")
    survey = survey_folder(tmp_path, recursive=False, seconds=0.0)
    assert not survey.complete and survey.subfolder_images < 50


def test_no_image_files_names_the_other_files_and_their_kinds(tmp_path):
    for i in range(3):
        touch(tmp_path / f"log{i}.txt")
    touch(tmp_path / "table.CSV")
    touch(tmp_path / "README")
    touch(tmp_path / "empty_sub" / "x.txt")
    error = no_images_error(tmp_path, recursive=False)
    assert "5 other files (.txt, (no extension), .csv)" in error.what
    assert "sub-folders hold no images either" in error.what
    assert "Choose the folder that holds the images" in error.todo
    deep = no_images_error(tmp_path, recursive=True)
    assert "or its sub-folders: 6 other files" in deep.what


def test_an_empty_folder_says_so(tmp_path):
    error = no_images_error(tmp_path, recursive=True)
    assert "holds no files" in error.what and error.todo


def test_require_image_files_lists_them_or_raises_the_explanation(tmp_path):
    touch(tmp_path / "sub" / "a.png")
    with pytest.raises(SortscopeError, match="1 image in its sub-folders"):
        require_image_files(tmp_path, recursive=False)
    assert require_image_files(tmp_path, recursive=True) == [tmp_path / "sub" / "a.png"]
