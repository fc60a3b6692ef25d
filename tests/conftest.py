"""Settings for the whole suite.

Property tests draw their examples from a seed derived from each test's name, not from the
clock: the suite gives the same verdict on every run and every machine. To explore other
examples, run pytest with `--hypothesis-seed=N`.
"""

from hypothesis import settings

settings.register_profile("same-examples-every-run", derandomize=True)
settings.load_profile("same-examples-every-run")
