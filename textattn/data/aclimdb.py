"""Reader for the Large Movie Review Dataset in its original layout.

Accepts an ``aclImdb/`` directory (or a directory that contains one) or an
``aclImdb*.tar.gz`` archive. Returns raw review texts and labels (neg=0,
pos=1) per split: ``train`` and ``test`` (25,000 each in the full dataset)
and ``unsup`` (50,000 unlabelled reviews, label -1).
"""

from __future__ import annotations

import functools
import os
import re
import tarfile
import zlib

from textattn.errors import UserError

LABELS = {"neg": 0, "pos": 1, "unsup": -1}
CLASS_NAMES = ("neg", "pos")  # label id -> class name
_MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg|unsup)/([^/]+)\.txt$")
LAYOUT_HINT = "expected aclImdb/{train,test}/{pos,neg}/*.txt (the Large Movie Review Dataset v1.0 layout)"


def fingerprint(path: str) -> str:
    """A string that changes when the data at ``path`` changes (for caching)."""
    path = os.path.realpath(path)
    if os.path.isdir(path):
        root = _dataset_root(path)
        parts = []
        for split in ("train", "test"):
            for label in ("neg", "pos"):
                d = os.path.join(root, split, label)
                parts.append(f"{split}/{label}:{len(os.listdir(d))}:{os.stat(d).st_mtime_ns}")
        return f"dir:{root}:" + ",".join(parts)
    st = os.stat(path)
    return f"archive:{path}:{st.st_size}:{st.st_mtime_ns}"


def check_path(path: str) -> None:
    """Raise UserError unless ``path`` exists and looks like an aclImdb copy."""
    if not os.path.exists(path):
        raise UserError(
            f"data path {path!r} does not exist; pass --data or set TEXTATTN_DATA to an aclImdb "
            "directory or aclImdb .tar.gz archive"
        )
    if os.path.isdir(path):
        _dataset_root(path)
    elif not tarfile.is_tarfile(path):
        raise UserError(
            f"data path {path!r} is neither a directory nor a tar archive; point --data at an "
            "aclImdb directory or its .tar.gz archive"
        )


def read_reviews(
    path: str, splits=("train", "test"), order: str = "canonical"
) -> dict[str, tuple[list[str], list[int]]]:
    """Read ``splits`` from ``path``: {split: (texts, labels)}.

    Within each split the order is canonical (sorted by label, then text), so
    the same data read from any source gives the same arrays; with
    ``order="archive"`` reviews are sorted by label only, keeping the order in
    which the archive stores them (a directory's files in name order).
    """
    check_path(path)
    wanted = set(splits)
    if os.path.isdir(path):
        rows = _read_directory(_dataset_root(path), wanted)
    else:
        rows = _read_archive(path, wanted)
    out = {}
    for split in splits:
        key = (lambda r: (r[1], r[0])) if order == "canonical" else (lambda r: r[1])
        found = sorted(rows.get(split, []), key=key)
        labels = {lab for _, lab in found}
        if split == "unsup":
            if not found:
                raise UserError(f"{path!r} has no train/unsup reviews; {LAYOUT_HINT} plus train/unsup/")
        elif labels != {0, 1}:
            missing = [name for name, lab in LABELS.items() if lab in (0, 1) and lab not in labels]
            raise UserError(f"{path!r} has no {split}/{'/'.join(missing)} reviews; {LAYOUT_HINT}")
        out[split] = ([t for t, _ in found], [lab for _, lab in found])
    return out


def read_rated(path: str) -> list[tuple[str, int, int, str]]:
    """Every labelled review of ``path`` with its star rating: (split, id, stars, text), sorted by split and id.

    The ratings are in the file names, ``ID_STARS.txt`` (1-4 in neg/, 7-10 in pos/).
    """
    check_path(path)
    found = []

    def add(split, name, data):
        review_id, _, stars = name.partition("_")
        if review_id.isdigit() and stars.isdigit():
            found.append((split, int(review_id), int(stars), _decode(data)))

    if os.path.isdir(path):
        root = _dataset_root(path)
        for split in ("train", "test"):
            for label in ("neg", "pos"):
                d = os.path.join(root, split, label)
                for name in sorted(os.listdir(d)):
                    if name.endswith(".txt"):
                        with open(os.path.join(d, name), "rb") as f:
                            add(split, name[:-4], f.read())
    else:
        try:
            with tarfile.open(path, "r:*") as tar:
                for member in tar:
                    m = _MEMBER.search(member.name)
                    if m and member.isfile() and m.group(2) != "unsup":
                        add(m.group(1), m.group(3), tar.extractfile(member).read())
        except (EOFError, tarfile.ReadError, zlib.error, OSError) as exc:
            raise UserError(
                f"archive {path!r} is truncated or corrupt ({type(exc).__name__}: {exc}); "
                "download or copy aclImdb.tar.gz again"
            ) from None
    return sorted(found, key=lambda r: (r[0] != "train", r[1], r[2]))


_URLS = re.compile(r"(?:^|/)aclImdb/train/urls_(pos|neg)\.txt$")
_MOVIE = re.compile(r"tt\d+")


@functools.lru_cache(maxsize=2)  # a run splits its texts several times (tokens, n-grams); the archive is read once
def read_training_movies(path: str) -> dict[str, str]:
    """Each labelled training review's text -> its movie's IMDB id ("tt0453418"), from ``train/urls_pos.txt``
    and ``urls_neg.txt`` (line i names the movie of review ``i_STARS.txt``), for ``data.validation_by_movie``.
    A text that occurs twice keeps its first movie."""
    check_path(path)
    urls: dict[str, list[str]] = {}
    reviews: list[tuple[str, int, str]] = []  # (label, id, text)
    try:
        if os.path.isdir(path):
            root = _dataset_root(path)
            for label in ("pos", "neg"):
                urls_file = os.path.join(root, "train", f"urls_{label}.txt")
                if os.path.isfile(urls_file):
                    with open(urls_file, encoding="utf-8") as f:
                        urls[label] = f.read().split("\n")
                folder = os.path.join(root, "train", label)
                for name in sorted(os.listdir(folder)):
                    if name.endswith(".txt"):
                        with open(os.path.join(folder, name), "rb") as f:
                            reviews.append((label, int(name.split("_")[0]), _decode(f.read())))
        else:
            with tarfile.open(path, "r:*") as tar:
                for member in tar:
                    if not member.isfile():
                        continue
                    m, u = _MEMBER.search(member.name), _URLS.search(member.name)
                    if u:
                        urls[u.group(1)] = tar.extractfile(member).read().decode("utf-8", "replace").split("\n")
                    elif m and m.group(1) == "train" and m.group(2) in ("pos", "neg"):
                        data = tar.extractfile(member).read()
                        reviews.append((m.group(2), int(m.group(3).split("_")[0]), _decode(data)))
    except (EOFError, tarfile.ReadError, zlib.error, OSError, ValueError) as exc:
        raise UserError(f"cannot read the movies of {path!r} ({type(exc).__name__}: {exc})") from None
    if set(urls) != {"pos", "neg"}:
        raise UserError(
            f"{path!r} has no train/urls_pos.txt and train/urls_neg.txt, which name each review's movie; "
            "use the original aclImdb archive, or --set data.validation_by_movie=false"
        )
    movies: dict[str, str] = {}
    for label, review_id, text in reviews:
        found = _MOVIE.search(urls[label][review_id]) if review_id < len(urls[label]) else None
        if found is None:
            raise UserError(f"{path!r}: train/urls_{label}.txt names no movie for review {review_id}")
        movies.setdefault(text, found.group(0))
    return movies


def _dataset_root(path: str) -> str:
    for candidate in (path, os.path.join(path, "aclImdb")):
        if all(os.path.isdir(os.path.join(candidate, s, lab)) for s in ("train", "test") for lab in ("pos", "neg")):
            return candidate
    raise UserError(f"directory {path!r} does not have the aclImdb layout; {LAYOUT_HINT}")


def _split_dirs(split: str) -> tuple[str, list[str]]:
    if split == "unsup":
        return "train", ["unsup"]
    return split, ["neg", "pos"]


def _read_directory(root: str, wanted: set[str]):
    rows: dict[str, list] = {}
    for split in wanted:
        folder, labels = _split_dirs(split)
        for label in labels:
            d = os.path.join(root, folder, label)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                if name.endswith(".txt"):
                    with open(os.path.join(d, name), "rb") as f:
                        rows.setdefault(split, []).append((_decode(f.read()), LABELS[label]))
    return rows


def _read_archive(path: str, wanted: set[str]):
    rows: dict[str, list] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                m = _MEMBER.search(member.name)
                if not m or not member.isfile():
                    continue
                folder, label = m.group(1), m.group(2)
                split = "unsup" if label == "unsup" else folder
                if split not in wanted:
                    continue
                data = tar.extractfile(member).read()
                rows.setdefault(split, []).append((_decode(data), LABELS[label]))
    except (EOFError, tarfile.ReadError, zlib.error, OSError) as exc:
        raise UserError(
            f"archive {path!r} is truncated or corrupt ({type(exc).__name__}: {exc}); "
            "download or copy aclImdb.tar.gz again"
        ) from None
    return rows


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
