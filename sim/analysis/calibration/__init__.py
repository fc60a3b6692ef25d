"""Calibration to the reported 2020-2024 figures (the method: `sim.analysis.calibration.fit`).

`targets` (moments and priors) -> `problem` (settings, simulating a hindcast replicate, the
objective) -> `search` (the point estimate) -> `posterior` (posterior draws, the predictive
hindcast) -> `fit` (`calibrate`, the whole pipeline); `report` and `report_figures` write the
posterior, fit.json and the fit report; `validation` checks the fit out of sample.
"""
