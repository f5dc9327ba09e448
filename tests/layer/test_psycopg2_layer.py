"""The psycopg2 layer `make layer` builds: reproducible bytes, the runtime's platform, and it imports.

The first run downloads two pinned wheels (about 4 MB each) into .build/cache/wheels; later runs are offline.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.layer import build_psycopg2_layer as builder

IMPORT_CHECK = (
    "import sys; sys.path.insert(0, sys.argv[1]); import psycopg2, psycopg2.extensions, psycopg2.extras; "
    "print(psycopg2.__version__.split()[0], psycopg2.extensions.libpq_version(), psycopg2.__file__)"
)


@pytest.fixture(scope="module")
def runtime_layer(tmp_path_factory: pytest.TempPathFactory) -> builder.Layer:
    return builder.build(out=tmp_path_factory.mktemp("layer-a"))


def test_same_inputs_give_the_same_bytes(runtime_layer: builder.Layer, tmp_path: Path) -> None:
    again = builder.build(out=tmp_path)
    assert again.zip_path.read_bytes() == runtime_layer.zip_path.read_bytes()
    assert again.base64sha256 == runtime_layer.base64sha256
    assert (
        runtime_layer.base64sha256
        == base64.b64encode(hashlib.sha256(runtime_layer.zip_path.read_bytes()).digest()).decode()
    )


def test_entries_are_sorted_with_fixed_times_and_modes(runtime_layer: builder.Layer) -> None:
    with zipfile.ZipFile(runtime_layer.zip_path) as layer:
        infos = layer.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert all(name.startswith("python/") for name in names)
    assert {info.date_time for info in infos} == {builder.ZIP_EPOCH}
    modes = {info.filename: (info.external_attr >> 16) & 0o7777 for info in infos}
    assert all(mode in (0o644, 0o755) for mode in modes.values())
    assert all(modes[name] == 0o755 for name in names if name.endswith("/"))
    assert all(not info.extra for info in infos)


def test_runtime_layer_is_built_for_python312_on_x86_64(runtime_layer: builder.Layer) -> None:
    package = runtime_layer.unpacked / "python" / "psycopg2"
    extension = package / "_psycopg.cpython-312-x86_64-linux-gnu.so"
    assert extension.is_file()
    # ELF64, machine EM_X86_64 (62): what Lambda's x86_64 architecture loads.
    header = extension.read_bytes()[:20]
    assert header[:5] == b"\x7fELF\x02"
    assert int.from_bytes(header[18:20], "little") == 62
    libs = sorted(p.name for p in (runtime_layer.unpacked / "python" / "psycopg2_binary.libs").iterdir())
    assert any(name.startswith("libpq-") for name in libs), (
        libs
    )  # libpq ships inside: no system library needed


def test_layer_layout_imports_without_site_packages(tmp_path: Path) -> None:
    """The same build for this interpreter's CPython, imported with nothing but the layer on the path.

    The deployed layer is cp312; this machine's Python may be older, so this proves the layout (python/, the
    bundled libpq and libssl, the relative rpath) with the interpreter at hand, and the next test imports the
    cp312 layer itself wherever a python3.12 exists.
    """
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    if (python, builder.RUNTIME_ARCH) not in builder.WHEEL_SHA256:
        pytest.skip(f"no pinned wheel for this interpreter's CPython {python}")
    layer = builder.build(python=python, out=tmp_path)
    found = _import(sys.executable, layer)
    assert found[0] == builder.PSYCOPG2_VERSION


def _python312() -> str | None:
    """A CPython 3.12: $PYTHON312, else one pyenv installed (this machine's image has 3.12.1), else PATH's."""
    if os.environ.get("PYTHON312"):
        return os.environ["PYTHON312"]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(pyenv.glob("3.12*/bin/python3.12"))
    if found:
        return str(found[-1])
    on_path = shutil.which("python3.12")
    if on_path and subprocess.run([on_path, "-c", ""], capture_output=True).returncode == 0:
        return on_path  # a pyenv shim for a version not selected fails here
    return None


@pytest.mark.skipif(
    _python312() is None,
    reason="no python3.12 here (set PYTHON312): the runtime layer's import is proven where one exists",
)
def test_runtime_layer_imports_on_python312(runtime_layer: builder.Layer) -> None:
    found = _import(_python312(), runtime_layer)
    assert found[0] == builder.PSYCOPG2_VERSION


def _import(python: str, layer: builder.Layer) -> list[str]:
    # -I -S: no user or site packages, so only the layer can provide psycopg2.
    result = subprocess.run(
        [python, "-I", "-S", "-c", IMPORT_CHECK, str(layer.unpacked / "python")],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", "")},
    )
    version, libpq, module = result.stdout.split()
    assert Path(module).is_relative_to(layer.unpacked / "python")
    assert int(libpq) >= 100000  # libpq 10 or later, from the layer's own copy
    return [version, libpq, module]
