"""The customer's side of onboarding: the role, trust and tag-based policy they deploy (R1, R2)."""
