"""Values shared by every stage: keys, plans, normalization. No IO here."""
