"""Pure renderers: an answer as Slack Block Kit, a Teams Adaptive Card, web JSON."""
