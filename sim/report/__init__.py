"""What people read: figures (fan charts, comparison and sensitivity charts), the figures of a
results folder, policy briefs, and the Korean font."""
