"""Many replicates of the model: one replicate from a scenario and a seed, chunks of replicates on
executors (local processes, a Dask cluster), guards before large jobs, result tables and the
results folders (annual.csv, monthly.parquet, summary.json, manifest.json)."""
