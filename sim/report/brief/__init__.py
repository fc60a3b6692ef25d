"""Policy briefs from a results folder. `sim.report.brief.write.write_brief` is the entry point."""
