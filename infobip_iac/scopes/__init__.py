"""The catalog of Infobip API scopes and roles, and the rules of which scope covers which."""
