"""The bad-buzz radar: causal detectors over each workspace's series, backtesting and NAB scoring."""

from pilote.radar.detectors import SENSITIVITIES, Decision, Detector

__all__ = ["SENSITIVITIES", "Decision", "Detector"]
