"""Which settings multi-label training (``data.multi_label``) goes with: UserError for those it does not."""

from __future__ import annotations

from textattn import variants
from textattn.errors import UserError

WORD_SEQUENCE_HINT = "use a word-sequence variant, e.g. --set model.variant=baseline"


def check_multi_label(config) -> None:
    """Cross-field checks of ``data.multi_label`` and ``data.label_separator`` (``config.validate`` calls it)."""
    data = config.data
    if data.label_separator is not None and not data.multi_label:
        raise UserError(
            "data.label_separator splits a CSV/TSV label column into several labels; "
            "set data.multi_label=true too, or drop the separator"
        )
    if data.label_separator is not None and not data.label_separator.strip():
        raise UserError(f"data.label_separator {data.label_separator!r} is blank; use a visible character such as '|'")
    if not data.multi_label:
        return
    if not variants.variant(config.model.variant).word_sequence:
        raise UserError(
            f"data.multi_label trains one sigmoid per label, which model.variant "
            f"{config.model.variant!r} (n-gram bags, a single-label blend) does not have yet; "
            f"{WORD_SEQUENCE_HINT}"
        )
    if config.train.final_fit:
        raise UserError("data.multi_label does not run train.final_fit yet; set train.final_fit=false")
    if config.train.distribution != "none":
        raise UserError("data.multi_label trains in one process only; set train.distribution=none")
    for key, value, default in (
        ("train.class_weight", config.train.class_weight, "none"),
        ("train.threshold", config.train.threshold, "argmax"),
        ("train.abstain", config.train.abstain, None),
        ("data.long_text", config.data.long_text, "cut"),
    ):
        if value != default:
            raise UserError(
                f"data.multi_label fits each label's own threshold and does not take {key} yet; "
                f"set {key}={'null' if default is None else default}"
            )
