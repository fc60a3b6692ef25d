"""What comes in: scenario files (safe YAML, the typed scenario), the parameter registry, the
names a scenario may use, months, and where the data folders are. Imports nothing else of `sim`."""
