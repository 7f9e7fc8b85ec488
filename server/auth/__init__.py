"""Accounts and sign-in: passwords, tokens, throttling, OAuth and Supabase."""
