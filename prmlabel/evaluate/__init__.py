"""Score first-error labels against human gold labels (ProcessBench's metric, plus step-level P/R)."""
