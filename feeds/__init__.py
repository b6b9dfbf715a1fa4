"""The output side: queries over the store, renderers, and the HTTP app."""
