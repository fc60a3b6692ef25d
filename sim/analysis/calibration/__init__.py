"""Calibration to the reported figures: targets, search, posterior, the fit report and the
out-of-sample validation. The method is described in `sim.analysis.calibration.fit`."""
