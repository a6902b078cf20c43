"""Passwords (argon2id), opaque tokens, sessions and throttling."""
