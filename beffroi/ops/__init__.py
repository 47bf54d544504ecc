"""Operating Beffroi in production: health check, Prometheus metrics, request logs.

A ground package, like core, realtime, notify and edge: it imports no domain
app. Apps declare the figures they want counted at scrape time in their
``AppConfig.ready()`` (``facts.register_count``), the way they register daily
jobs with ``core.maintenance``.
"""
