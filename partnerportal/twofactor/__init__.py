"""Two-factor sign-in (TOTP authenticator apps, recovery codes) for staff and customer users."""
