"""Text handling shared by labelers, backends and inputs: step splitting (``steps``), final-answer
extraction and the three-outcome answer checker (``answers``, with its rules in ``answer_rules`` and
math-verify's part in ``answer_mv``), and the judge's prompt templates (``judge_prompts``), which the
judge labeler renders and the synthetic backend's simulated judge reads."""
