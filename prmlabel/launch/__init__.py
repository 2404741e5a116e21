"""Running recipes: compose and freeze a run's plan, then execute it locally, on SLURM or on Ray."""
