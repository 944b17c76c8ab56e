"""Research checks on strategy plugins: look-ahead and warm-up (recursive) bias."""

from shared.research.bias import (
    Difference,
    LookAheadError,
    LookaheadReport,
    RecursiveReport,
    WarmupRow,
    assert_causal,
    lookahead,
    recursive,
)

__all__ = [
    "Difference",
    "LookAheadError",
    "LookaheadReport",
    "RecursiveReport",
    "WarmupRow",
    "assert_causal",
    "lookahead",
    "recursive",
]
