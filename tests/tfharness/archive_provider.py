"""An offline stand-in for the `hashicorp/archive` provider: the `archive_file` data source, for real.

The registry cannot be reached from our CI, and no mirror carries hashicorp/archive, yet the root module
builds the Lambda zip with `data "archive_file"`. This provider answers with the schema of
hashicorp/archive 2.8.1 (checked against the published provider bindings) and really builds the
archive, so `terraform validate`, `terraform test`, `plan` and `apply` all behave as with the real one.

Behaviour copied from the real provider's documented semantics:
- exactly one source: `source` blocks, `source_content` + `source_content_filename`, `source_file` or `source_dir`;
- `excludes` apply to paths relative to `source_dir`: an exact match, or a pattern in which `*` matches any
  run of characters and that is anchored at the start only; an excluded directory is skipped whole;
- entries are deflated, with a fixed modification time, so the same input gives the same bytes;
- `output_file_mode` (octal string) overrides every entry's mode;
- `id` is the SHA-1 of the archive; `output_*` are its size and checksums.

Known differences, stated so nobody relies on them: only `type = "zip"` is implemented (the real
provider also writes tar.gz); the deprecated `archive_file` resource and the ephemeral resource are not
offered; the fixed timestamp is 1980-01-01 (the earliest a zip can hold), so byte-for-byte hashes differ
from the real provider's even though both are deterministic.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
import sys
import zipfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Started by Terraform as a plain script from the mirror directory.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.tfharness.tfplugin import UNKNOWN, decode_value, encode_value, error, pb, serve

PROVIDER_VERSION = "2.8.1"
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)

_STRING = json.dumps("string").encode()
_NUMBER = json.dumps("number").encode()
_BOOL = json.dumps("bool").encode()
_STRING_SET = json.dumps(["set", "string"]).encode()

# name -> (cty type, required, optional, computed, description)
_ATTRIBUTES: dict[str, tuple[bytes, bool, bool, bool, str]] = {
    "id": (_STRING, False, False, True, "The sha1 checksum hash of the output."),
    "type": (_STRING, True, False, False, "The type of archive to generate. NOTE: `zip` is supported."),
    "source_content": (_STRING, False, True, False, "Add only this content to the archive."),
    "source_content_filename": (
        _STRING,
        False,
        True,
        False,
        "Set this as the filename when using `source_content`.",
    ),
    "source_file": (_STRING, False, True, False, "Package this file into the archive."),
    "source_dir": (
        _STRING,
        False,
        True,
        False,
        "Package entire contents of this directory into the archive.",
    ),
    "excludes": (
        _STRING_SET,
        False,
        True,
        False,
        "Specify files/directories to ignore when reading `source_dir`.",
    ),
    "exclude_symlink_directories": (
        _BOOL,
        False,
        True,
        False,
        "Exclude symlinked directories from the archive.",
    ),
    "output_path": (_STRING, True, False, False, "The output of the archive file."),
    "output_size": (_NUMBER, False, False, True, "The byte size of the output archive file."),
    "output_file_mode": (_STRING, False, True, False, 'Octal file mode for all archived files, e.g. "0666".'),
    "output_md5": (_STRING, False, False, True, "MD5 of output file"),
    "output_sha": (_STRING, False, False, True, "SHA1 checksum of output file"),
    "output_sha256": (_STRING, False, False, True, "SHA256 checksum of output file"),
    "output_base64sha256": (_STRING, False, False, True, "Base64 Encoded SHA256 checksum of output file"),
    "output_sha512": (_STRING, False, False, True, "SHA512 checksum of output file"),
    "output_base64sha512": (_STRING, False, False, True, "Base64 Encoded SHA512 checksum of output file"),
}

_SOURCE_BLOCK = (
    "source",
    {
        "content": "Add this content to the archive with `filename` as the filename.",
        "filename": "Set this as the filename when declaring a `source`.",
    },
)


def archive_file_schema():
    block = pb.Schema.Block(description="Generates an archive from content, a file, or directory of files.")
    for name, (cty_type, required, optional, computed, description) in _ATTRIBUTES.items():
        block.attributes.add(
            name=name,
            type=cty_type,
            required=required,
            optional=optional,
            computed=computed,
            description=description,
        )
    nested = pb.Schema.Block()
    for name, description in _SOURCE_BLOCK[1].items():
        nested.attributes.add(name=name, type=_STRING, required=True, description=description)
    block.block_types.add(type_name=_SOURCE_BLOCK[0], block=nested, nesting=pb.Schema.NestedBlock.SET)
    return pb.Schema(version=0, block=block)


def _present(config: dict[str, Any], name: str) -> bool:
    value = config.get(name)
    if name == "source":
        return value is UNKNOWN or bool(value)
    return value is not None


# Which attributes may not be set together (the real provider's ConflictsWith validators).
_CONFLICTS = {
    "source": ("source_file", "source_dir", "source_content", "source_content_filename"),
    "source_content": ("source_file", "source_dir"),
    "source_content_filename": ("source_file", "source_dir"),
    "source_file": ("source_dir", "source_content", "source_content_filename"),
    "source_dir": ("source_file", "source_content", "source_content_filename"),
    "excludes": ("source_file", "source_content", "source_content_filename"),
}


def validate_config(config: dict[str, Any]) -> list:
    diagnostics = []
    for name, others in _CONFLICTS.items():
        if not _present(config, name):
            continue
        clash = [other for other in others if _present(config, other)]
        if clash:
            diagnostics.append(
                error(
                    "Invalid Attribute Combination",
                    f'Attribute "{name}" cannot be specified when {", ".join(repr(c) for c in clash)} is specified',
                    attribute=name,
                )
            )
    if not any(
        _present(config, name) for name in ("source", "source_content_filename", "source_file", "source_dir")
    ):
        diagnostics.append(
            error(
                "Invalid Attribute Combination",
                "At least one attribute out of [source, source_content_filename, source_file, source_dir] must be specified",
            )
        )
    kind = config.get("type")
    if isinstance(kind, str) and kind != "zip":
        diagnostics.append(
            error(
                "Unsupported archive type",
                f'archive type not supported by the offline archive stand-in: "{kind}" (only "zip")',
                attribute="type",
            )
        )
    mode = config.get("output_file_mode")
    if isinstance(mode, str):
        try:
            _parse_mode(mode)
        except ValueError:
            diagnostics.append(
                error(
                    "Invalid output_file_mode",
                    f"error parsing output_file_mode value: {mode}",
                    attribute="output_file_mode",
                )
            )
    return diagnostics


def _parse_mode(text: str) -> int:
    # Go's strconv.ParseUint(s, 0, 32): a leading 0 means octal, 0x hex, 0o octal, 0b binary.
    if re.fullmatch(r"0[0-7]+", text):
        return int(text, 8)
    return int(text, 0)


def _excluded(relative: str, excludes: list[str]) -> bool:
    for pattern in excludes:
        if not pattern:
            continue
        if pattern == relative:
            return True
        if "*" in pattern:
            regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*"))
            if re.match(regex, relative):
                return True
    return False


def _write_entry(archive: zipfile.ZipFile, name: str, data: bytes, mode: int | None) -> None:
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so the mode bits below are honoured by unzip and by Lambda
    info.external_attr = ((stat.S_IFREG | (mode if mode is not None else 0o644)) & 0xFFFF) << 16
    archive.writestr(info, data)


def _walk(root: Path, excludes: list[str], skip_symlink_dirs: bool):
    """Yield (relative path, file path) in lexical order, like Go's filepath.Walk."""

    def visit(directory: Path):
        for entry in sorted(os.listdir(directory)):
            path = directory / entry
            relative = path.relative_to(root).as_posix()
            is_dir = path.is_dir()
            if is_dir and path.is_symlink() and skip_symlink_dirs:
                continue
            if _excluded(relative, excludes):
                continue
            if is_dir:
                yield from visit(path)
            else:
                yield relative, path

    yield from visit(root)


def build_archive(config: dict[str, Any]) -> dict[str, Any]:
    output = Path(config["output_path"])
    output.parent.mkdir(parents=True, exist_ok=True)
    forced_mode = _parse_mode(config["output_file_mode"]) if config.get("output_file_mode") else None

    def mode_of(path: Path) -> int:
        return forced_mode if forced_mode is not None else stat.S_IMODE(path.stat().st_mode)

    with zipfile.ZipFile(output, "w") as archive:
        if config.get("source_dir") is not None:
            root = Path(config["source_dir"])
            if not root.is_dir():
                raise FileNotFoundError(f"could not archive missing directory: {root}")
            excludes = sorted(config.get("excludes") or [])
            for relative, path in _walk(root, excludes, bool(config.get("exclude_symlink_directories"))):
                _write_entry(archive, relative, path.read_bytes(), mode_of(path))
        elif config.get("source_file") is not None:
            path = Path(config["source_file"])
            if not path.is_file():
                raise FileNotFoundError(f"could not archive missing file: {path}")
            _write_entry(archive, path.name, path.read_bytes(), mode_of(path))
        elif config.get("source_content_filename") is not None:
            content = (config.get("source_content") or "").encode()
            _write_entry(archive, config["source_content_filename"], content, forced_mode)
        else:
            for source in sorted(config.get("source") or [], key=lambda s: s["filename"]):
                _write_entry(archive, source["filename"], source["content"].encode(), forced_mode)

    data = output.read_bytes()
    sha1 = hashlib.sha1(data).hexdigest()  # noqa: S324 - the provider's contract is a SHA-1 id, not a security use
    state = dict(config)
    state.update(
        id=sha1,
        output_size=len(data),
        output_md5=hashlib.md5(data).hexdigest(),  # noqa: S324 - a published checksum attribute, not security
        output_sha=sha1,
        output_sha256=hashlib.sha256(data).hexdigest(),
        output_base64sha256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
        output_sha512=hashlib.sha512(data).hexdigest(),
        output_base64sha512=base64.b64encode(hashlib.sha512(data).digest()).decode(),
    )
    return state


# --- tfplugin6 methods -----------------------------------------------------------------------------


def _provider_schema():
    return pb.Schema(version=0, block=pb.Schema.Block())


def get_provider_schema(_request, _context):
    response = pb.GetProviderSchema.Response(provider=_provider_schema())
    response.data_source_schemas["archive_file"].CopyFrom(archive_file_schema())
    return response


def get_metadata(_request, _context):
    response = pb.GetMetadata.Response()
    response.data_sources.add(type_name="archive_file")
    return response


def validate_provider_config(_request, _context):
    return pb.ValidateProviderConfig.Response()


def configure_provider(_request, _context):
    return pb.ConfigureProvider.Response()


def validate_data_resource_config(request, _context):
    if request.type_name != "archive_file":
        return pb.ValidateDataResourceConfig.Response(
            diagnostics=[
                error("Unknown data source", f"this provider has no data source {request.type_name!r}")
            ]
        )
    return pb.ValidateDataResourceConfig.Response(diagnostics=validate_config(decode_value(request.config)))


def read_data_source(request, _context):
    config = decode_value(request.config)
    problems = validate_config(config)
    if problems:
        return pb.ReadDataSource.Response(diagnostics=problems)
    try:
        state = build_archive(config)
    except (OSError, ValueError) as exc:
        return pb.ReadDataSource.Response(
            diagnostics=[error("Archive creation error", f"error creating archive: {exc}")]
        )
    return pb.ReadDataSource.Response(state=encode_value(state))


def stop_provider(_request, _context):
    return pb.StopProvider.Response()


HANDLERS = {
    "GetProviderSchema": get_provider_schema,
    "GetMetadata": get_metadata,
    "ValidateProviderConfig": validate_provider_config,
    "ConfigureProvider": configure_provider,
    "ValidateDataResourceConfig": validate_data_resource_config,
    "ReadDataSource": read_data_source,
    "StopProvider": stop_provider,
}


def main() -> None:
    serve(HANDLERS)


if __name__ == "__main__":
    main()
