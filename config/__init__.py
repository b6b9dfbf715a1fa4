"""Settings from the environment and the sources file: the leaf every other package may read."""
