"""The training tools on a core install (no TensorFlow or Keras): one line naming the extra,
not a ModuleNotFoundError traceback; and smartcrop-train's own dataset errors in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT

# As the console script and `python -m` run them, with the training extra's modules absent.
HIDE = "import runpy, sys; sys.modules['keras'] = None; sys.modules['tensorflow'] = None; "
ENTRIES = [
    ("smartcrop-train", HIDE + "sys.argv[1:] = ['--help']; "
     "from smartcrop.model import train_main; train_main()"),
    *[(f"smartcrop.model.{name}", HIDE + f"sys.argv[1:] = ['--help']; "
       f"runpy.run_module('smartcrop.model.{name}', run_name='__main__')")
      for name in ("train", "export", "convert", "face_inputs")],
]


@pytest.mark.parametrize(("prog", "code"), ENTRIES)
def test_without_the_training_extra_a_tool_says_how_to_install_it(prog, code):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)
    prog = "smartcrop-train" if prog.endswith(".train") else prog
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (f"{prog}: error: needs TensorFlow and Keras (no module named 'keras'), "
                           "the training extra: pip install 'smartcrop[train]'\n")


@pytest.mark.parametrize("name", ["train", "export", "convert", "face_inputs"])
def test_imported_as_a_library_a_missing_extra_is_an_import_error(name):
    """Only the tools stop with a line: an import (a notebook, a test) gets ModuleNotFoundError,
    not a SystemExit from inside the library."""
    code = HIDE + (f"import importlib\ntry:\n    importlib.import_module('smartcrop.model.{name}')\n"
                   f"except ModuleNotFoundError as e:\n    print(e.name)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().split(".")[0] in ("keras", "tensorflow")


@pytest.mark.train
def test_train_names_a_bad_dataset_in_one_line(tmp_path):
    pytest.importorskip("tensorflow")
    pytest.importorskip("keras")
    from smartcrop.model import train

    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "fixations.csv").write_text("image,subject,x,y,duration_ms\ngone.png,0,1,1,100\n")
    with pytest.raises(SystemExit) as e:
        train.main([str(root), "--out", str(tmp_path / "run")])
    assert e.value.code == (f"smartcrop-train: error: {root / 'fixations.csv'}: 1 of 1 images listed "
                            f"have no file in {root / 'images'}: gone.png")
