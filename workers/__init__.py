"""The top: scheduling, job bodies, process entry points (the ``wirefeed`` command)."""
