"""Run Terraform on one directory the way the offline checks do, for a quick look while developing:

    python -m tests.tfharness test modules/redshift_loader [tests/validation.tftest.hcl ...]
    python -m tests.tfharness validate examples/complete

The directory is copied to a scratch tree and initialised with the offline provider mirror first; Terraform's own
output is printed and its exit status returned. `make test` runs the same commands through tests/terraform.
"""

import argparse
import sys
import time

from tests.tfharness.harness import REPO_ROOT, OfflineTerraform, describe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.tfharness")
    parser.add_argument("command", choices=["test", "validate", "plan"])
    parser.add_argument("directory", help="a Terraform directory, relative to the repository root")
    parser.add_argument(
        "files", nargs="*", help="test files to run (terraform test -filter); all when omitted"
    )
    args = parser.parse_args(argv)

    tf = OfflineTerraform.create()
    module_dir = (REPO_ROOT / args.directory).resolve()
    scratch = tf.scratch_copy(module_dir)
    init = tf.run(["init", "-backend=false", "-input=false"], scratch)
    if init.returncode != 0:
        print(describe(init), file=sys.stderr)
        return init.returncode
    command = (
        [args.command, *(f"-filter={f}" for f in args.files)] if args.command == "test" else [args.command]
    )
    started = time.monotonic()
    result = tf.run(command, scratch, timeout=1800)
    print(result.stdout, end="")
    print(result.stderr, end="", file=sys.stderr)
    print(
        f"[{args.command} {args.directory}: exit {result.returncode} in {time.monotonic() - started:.0f} s]"
    )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
