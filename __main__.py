"""Entry point of `pulumi up`: all the work is in components/program.py."""

from components.program import build

build()
