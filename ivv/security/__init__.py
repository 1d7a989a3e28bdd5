"""Security probes: attack the service's authentication, session, exposure and limit claims from outside.

Each probe returns `Finding`s (plain data: criterion, name, passed, expected, observed) together with
the exact exchange that decided them; the security suite turns them into evidence. The probes never
print a real secret: tokens and keys appear in transcripts only as a description of what they are.
"""

from ivv.security.findings import Finding, Undecided

__all__ = ["Finding", "Undecided"]
