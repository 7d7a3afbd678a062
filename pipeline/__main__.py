"""`python -m pipeline` runs the same CLI as the `probation` console script."""

from pipeline.cli import main

main()
