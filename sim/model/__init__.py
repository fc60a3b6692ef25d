"""The firms and their month: state arrays, population synthesis, the supplier network, the
environment, random draws, the pure rules, the Mesa model and the indicators. No plotting, no
file output: a replicate's indicators leave the model as arrays."""
