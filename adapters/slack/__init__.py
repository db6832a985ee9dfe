"""threadcast on Slack (slack-bolt's async app, Socket Mode or HTTP)."""
