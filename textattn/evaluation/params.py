"""Parameter counts straight from config files: no data, no training."""

from __future__ import annotations

from textattn.config import load_config


def params_rows(config_paths: list[str]) -> list[dict]:
    """One row per config: {config, name, variant, total, trainable, non_embedding}."""
    from textattn.models import build_model, count_params

    rows = []
    for path in config_paths:
        config = load_config(path)
        counts = count_params(build_model(config))
        rows.append({"config": path, "name": config.name, "variant": config.model.variant, **counts})
    return rows


def format_params(rows: list[dict]) -> str:
    headers = ["name", "variant", "total", "trainable", "non-embedding"]
    body = [
        [r["name"], r["variant"], f"{r['total']:,}", f"{r['trainable']:,}", f"{r['non_embedding']:,}"] for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(b) for b in body]) + "\n"
