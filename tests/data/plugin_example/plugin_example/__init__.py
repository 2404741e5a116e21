"""An example prmlabel plug-in: the ``first_low_mc`` labeling rule and its recipe."""
