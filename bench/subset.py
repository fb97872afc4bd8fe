"""A smaller aclImdb directory for quick comparisons: the same review length and batch shapes, fewer steps.

Both sides read the same subset (the reference and textattn take a directory
as well as the archive), so a pair still compares equal work. Validation stays
the first 10,000 shuffled training reviews on both sides, so the subset keeps
more than that for training.
"""

from __future__ import annotations

import os
import re
import tarfile

MEMBER = re.compile(r"aclImdb/(train|test)/(pos|neg)/([^/]+\.txt)$")


def make_subset(archive: str, out_dir: str, train_per_class: int, test_per_class: int) -> str:
    """Write ``out_dir``/aclImdb with the first reviews (by file name) of each class; return its path.

    An existing complete subset of the same sizes is reused.
    """
    root = os.path.join(out_dir, "aclImdb")
    stamp = os.path.join(out_dir, f".subset-{train_per_class}-{test_per_class}")
    if os.path.exists(stamp):
        return root
    wanted = {"train": train_per_class, "test": test_per_class}
    chosen = {}
    if os.path.isdir(archive):
        for split in wanted:
            for label in ("pos", "neg"):
                folder = os.path.join(archive, split, label)
                for name in sorted(os.listdir(folder))[: wanted[split]]:
                    with open(os.path.join(folder, name), encoding="utf-8") as f:
                        chosen[(split, label, name)] = f.read()
    else:
        with tarfile.open(archive, "r:gz") as tar:
            members = [(m, MEMBER.search(m.name)) for m in tar.getmembers()]
            members = [(m, match.groups()) for m, match in members if match]
            names = {}
            for _, (split, label, name) in members:
                names.setdefault((split, label), []).append(name)
            keep = {(s, lab, n) for (s, lab), files in names.items() for n in sorted(files)[: wanted[s]]}
            for member, key in members:  # archive order: the compressed stream is read forward once
                if key in keep:
                    chosen[key] = tar.extractfile(member).read().decode("utf-8")
    for (split, label, name), text in chosen.items():
        folder = os.path.join(root, split, label)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write(text)
    counts = {(s, lab): sum(1 for k in chosen if k[:2] == (s, lab)) for s in wanted for lab in ("pos", "neg")}
    short = {k: n for k, n in counts.items() if n < wanted[k[0]]}
    if short:
        raise SystemExit(f"[bench] {archive} has too few reviews for the subset: {short}")
    open(stamp, "w").close()
    return root
