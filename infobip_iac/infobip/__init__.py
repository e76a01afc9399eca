"""The HTTP client of Infobip's account-management API: the one place that talks to Infobip."""
