"""The command line `changwon-sim` (also `python -m sim`): `sim.cli.main.main(argv)` parses and
dispatches; each command has its own small module; shared helpers live in `sim.cli.common`."""
