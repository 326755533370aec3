"""Notifications after a scan: webhooks (Microsoft Teams, Slack, generic JSON) and email (SMTP + STARTTLS).

Default: notify only on a regression (a check newly failing, the score dropping, a source failing) plus a weekly
digest. A notification that cannot be delivered is kept in an outbox and retried after the next scan; delivery
problems are logged and never stop a scan or the agent.
"""
