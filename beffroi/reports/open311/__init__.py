"""Open311 GeoReport v2: the reports of a commune for existing Open311 clients.

https://wiki.open311.org/GeoReport_v2, in XML and JSON, under /open311/v2/:
a service is a category a report can be filed under, a service request is a
report (its tracking code is the service_request_id). Reading is open to
anyone and shows only what the public page shows; filing needs an API key of
the commune (``manage.py open311_key``) and goes through ``report_submit``,
like the web form. Personal fields the spec allows are never read.
"""
