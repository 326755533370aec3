"""The scheduled agent: scans each organisation on its own cron schedule, one at a time per organisation."""
