"""`python -m typetool` runs the CLI."""

from typetool.cli import main

main()
