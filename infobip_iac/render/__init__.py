"""Text, JSON and markdown views of a Plan; they read the Plan and nothing else."""
