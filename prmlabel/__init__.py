"""prmlabel: step-level labels for Process Reward Models."""

__version__ = "0.1.0"
