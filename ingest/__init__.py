"""The core: the model, errors, keys, and the stages from fetch to store."""
