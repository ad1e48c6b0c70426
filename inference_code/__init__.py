"""What runs in the endpoint: the container handlers (`inference.py`), request parsing, and the
modules training shares with them (features, forest, ranking). model.tar.gz ships this package as
`code/`; it imports nothing from the other rooms of the repository."""
