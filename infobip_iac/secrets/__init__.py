"""Secret sinks: where a new key's apiKeySecret goes, and nowhere else."""
