"""Train an IMDB sentiment model: the same command as ``textattn train`` (see ``python train.py --help``).

python train.py --config configs/seed_attention.yaml --data aclImdb_v1.tar.gz
python train.py --tune --config configs/tune.yaml     # the same as ``textattn tune``
"""

import sys

from textattn.__main__ import main as textattn_main


def main(argv=None) -> int:
    """``textattn train ARGS``, or ``textattn tune ARGS`` when ARGS hold ``--tune``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = "tune" if "--tune" in argv else "train"
    return textattn_main([command, *(arg for arg in argv if arg != "--tune")])


if __name__ == "__main__":
    sys.exit(main())
