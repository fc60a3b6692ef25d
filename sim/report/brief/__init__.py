"""Policy briefs from a results folder (`sim.report.brief.write.write_brief`).

`folders` (reading results folders) -> `compose` and `assumptions` (what the brief says, as a
document of blocks) worded by `wording` and `numbers` -> `render` (markdown and HTML) -> `write`
(the files, never over an existing brief).
"""
