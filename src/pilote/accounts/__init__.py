"""Accounts: people who sign in, their roles per workspace, their sessions, password resets, the audit log."""
