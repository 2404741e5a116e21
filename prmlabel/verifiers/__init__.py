"""Step verifiers: tools that check a step's own claims without rollouts (sympy for arithmetic and algebra,
z3 for formal logic). Each verifier module is imported by the labeler that uses it."""
