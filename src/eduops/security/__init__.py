"""Security: the weekly scan (vulnerable dependencies, TLS, HTTP headers, ports, patches, weak
configuration, access review), its score and trend, rate limits and the traffic anomaly signal."""
