"""The thin path in front of Django.

Long-lived streams and anonymous pages that have not changed since the last
publication are served here, on the event loop; everything else goes to
Django. See docs/architecture.md.
"""
