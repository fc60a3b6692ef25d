"""changwon-sim: an agent-based simulation of the firms of the Changwon National Industrial
Complex."""

__version__ = "0.1.0"
MODEL_VERSION = "3"  # bumped whenever the model's rules change what a seed produces
