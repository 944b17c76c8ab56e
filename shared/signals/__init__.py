"""The ensemble: weighted consensus of voters and the nightly re-weighting of their weights."""

from shared.signals.ensemble import DEFAULT_THRESHOLD, Consensus, consensus
from shared.signals.reweight import Outcome, VoterStats, credit, reweight

__all__ = ["DEFAULT_THRESHOLD", "Consensus", "Outcome", "VoterStats", "consensus", "credit", "reweight"]
