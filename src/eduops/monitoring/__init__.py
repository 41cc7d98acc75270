"""Monitoring: host, HTTP/TCP/TLS, database, log and Prometheus collectors feeding the metric store."""
