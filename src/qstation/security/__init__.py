"""Controls that keep data and accounts safe: private files, keys, passwords, TOTP, throttling.

Each module is free of HTTP and of the store's tables; docs/security.md says what each control
promises and which test shows it.
"""
