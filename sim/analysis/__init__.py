"""What the ensembles are used to learn: the reported history, the 2020-2024 hindcast,
calibration and its validation, and sensitivity analysis."""
