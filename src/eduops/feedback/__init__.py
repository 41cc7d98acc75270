"""User feedback: intake, categories, clustering, first-response SLA, support answers and work items."""
