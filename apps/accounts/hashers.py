"""Argon2id with the OWASP Password Storage Cheat Sheet parameters (19 MiB of memory, 2 passes, 1 lane).

Django's defaults (100 MiB, 8 lanes) cost about half a second of CPU per login on a 2-core server, so 50 people
logging in at 8:30 would queue every page behind them; these parameters cost a few tens of milliseconds and are
still the recommended minimum against GPU cracking. The parameters are stored in each hash: changing them later
re-hashes a password at its owner's next login (Django's must_update)."""
from django.contrib.auth.hashers import Argon2PasswordHasher


class PortalArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
