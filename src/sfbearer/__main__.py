"""``python -m sfbearer``: the command line."""

from sfbearer.cli import run

run()
