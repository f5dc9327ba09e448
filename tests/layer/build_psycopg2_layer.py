"""Build the psycopg2 Lambda layer: ``make layer`` (or ``python -m tests.layer.build_psycopg2_layer``).

Downloads the pinned ``psycopg2-binary`` wheel for the Lambda runtime's platform (CPython 3.12, manylinux
x86_64: the loader function's ``runtime`` and ``architectures``), checks its SHA-256 against the pin below,
unpacks it under ``python/`` (the directory Lambda adds to ``sys.path`` for a Python layer:
https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html#packaging-layers-paths) and writes a zip
whose bytes depend only on the wheel: entries sorted, one fixed timestamp, fixed permissions, no extra fields.
Prints the zip's path and its base64-encoded SHA-256 (the form of ``source_code_hash``).

The wheel is cached in ``.build/cache/wheels``: a second build makes no network request. The result goes to
``.build/layers/`` (gitignored); pass it to the module as ``redshift.psycopg2_layer_zip``.

This script lives beside the tests rather than in ``lambda_src/``, which is zipped whole into the function package.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".build" / "cache" / "wheels"
OUT = REPO / ".build" / "layers"

PSYCOPG2_VERSION = "2.9.13"
# sha256 of each wheel this script may use, as PyPI serves it. A new pin needs a new hash here.
WHEEL_SHA256 = {
    # The Lambda runtime: python3.12 on x86_64 (Amazon Linux 2023, glibc 2.34 >= the wheel's manylinux_2_17).
    ("3.12", "x86_64"): "e3861eba31f8ea8663fd876166b032fd89179e42aa63764d6feb281f13f9eb60",
    # Only for the import test on a machine whose Python is 3.11 (the layer the module deploys is 3.12).
    ("3.11", "x86_64"): "930e7e58b33a4f9c39e7532d7a40147925cf3372baed4229cbebe0cf3ba9ce6b",
}
RUNTIME_PYTHON = "3.12"
RUNTIME_ARCH = "x86_64"

# 1980-01-01 00:00:00, the earliest time a zip entry can hold: no build clock leaks into the bytes.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
EXEC_MODE = 0o755  # shared objects keep the mode pip would install them with
DIR_MODE = 0o755


@dataclass(frozen=True)
class Layer:
    zip_path: Path
    unpacked: Path  # the directory that holds python/
    base64sha256: str
    size: int


def wheel_name(python: str, arch: str) -> str:
    tag = "cp" + python.replace(".", "")
    return f"psycopg2_binary-{PSYCOPG2_VERSION}-{tag}-{tag}-manylinux2014_{arch}.manylinux_2_17_{arch}.whl"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_wheel(python: str, arch: str, cache: Path = CACHE) -> Path:
    """The pinned wheel, from the cache or downloaded by pip into it; its hash is checked either way."""
    expected = WHEEL_SHA256.get((python, arch))
    if expected is None:
        raise SystemExit(f"no pinned psycopg2-binary wheel for python {python} on {arch}: add its sha256")
    wheel = cache / wheel_name(python, arch)
    if not wheel.exists():
        cache.mkdir(parents=True, exist_ok=True)
        # --platform/--python-version/--implementation select the runtime's wheel whatever Python runs this.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary=:all:",
                "--implementation",
                "cp",
                "--python-version",
                python,
                "--platform",
                f"manylinux_2_17_{arch}",
                "--platform",
                f"manylinux2014_{arch}",
                "--dest",
                str(cache),
                f"psycopg2-binary=={PSYCOPG2_VERSION}",
            ],
            check=True,
        )
    if not wheel.exists():
        raise SystemExit(f"pip did not produce {wheel.name} in {cache}")
    actual = _sha256(wheel)
    if actual != expected:
        wheel.unlink()
        raise SystemExit(
            f"{wheel.name}: sha256 {actual} is not the pinned {expected}; removed from the cache"
        )
    return wheel


def _mode(name: str) -> int:
    return EXEC_MODE if ".so" in Path(name).name else FILE_MODE


def build(
    python: str = RUNTIME_PYTHON, arch: str = RUNTIME_ARCH, out: Path = OUT, cache: Path = CACHE
) -> Layer:
    wheel = fetch_wheel(python, arch, cache)
    stem = f"psycopg2-binary-{PSYCOPG2_VERSION}-py{python}-{arch}"
    unpacked = out / stem
    zip_path = out / f"{stem}.zip"
    if unpacked.exists():
        shutil.rmtree(unpacked)
    out.mkdir(parents=True, exist_ok=True)

    with zipfile.ZipFile(wheel) as source:
        members = sorted(
            (info for info in source.infolist() if not info.is_dir()),
            key=lambda info: info.filename,
        )
        contents = {f"python/{info.filename}": source.read(info) for info in members}

    # Directory entries too, so every tool that unpacks the zip creates them with a fixed mode.
    directories = sorted(
        {
            "/".join(name.split("/")[:depth]) + "/"
            for name in contents
            for depth in range(1, name.count("/") + 1)
        }
    )
    tmp = zip_path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as layer:
        for name in sorted([*directories, *contents]):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = 3  # Unix, so external_attr holds the mode
            if name.endswith("/"):
                info.external_attr = (0o040000 | DIR_MODE) << 16
                layer.writestr(info, b"")
                continue
            info.external_attr = (0o100000 | _mode(name)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            layer.writestr(info, contents[name], compresslevel=9)
            target = unpacked / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(contents[name])
            os.chmod(target, _mode(name))
    tmp.replace(zip_path)
    data = zip_path.read_bytes()
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    return Layer(zip_path=zip_path, unpacked=unpacked, base64sha256=digest, size=len(data))


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument(
        "--python", default=RUNTIME_PYTHON, help="CPython version of the wheel (default: the runtime's)"
    )
    args.add_argument("--arch", default=RUNTIME_ARCH, choices=("x86_64",), help="Lambda architecture")
    args.add_argument("--out", type=Path, default=OUT, help="output directory (default: .build/layers)")
    options = args.parse_args(argv)
    layer = build(options.python, options.arch, options.out)
    print(f"layer:            {layer.zip_path}")
    print(f"size:             {layer.size} bytes")
    print(f"base64sha256:     {layer.base64sha256}")
    print(f'terraform:        redshift = {{ ..., psycopg2_layer_zip = "{layer.zip_path}" }}')
    return 0


if __name__ == "__main__":
    sys.exit(main())
