"""Load manifests (YAML with line numbers), validate them, resolve them into a DesiredConfig."""
