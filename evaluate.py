"""Evaluate and compare trained runs: the same command as ``textattn evaluate`` (see ``python evaluate.py --help``).

python evaluate.py runs/seed_attention-* runs/seed_mha-* --data aclImdb_v1.tar.gz
"""

import sys

from textattn.__main__ import main as textattn_main


def main(argv=None) -> int:
    """``textattn evaluate ARGS``."""
    return textattn_main(["evaluate", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
