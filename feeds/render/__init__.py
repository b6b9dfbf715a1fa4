"""Pure renderers: our model in, bytes or text out. No I/O and no clocks."""
