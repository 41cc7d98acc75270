"""Load tests with Locust as a library: scenarios, load shapes, SLOs, capacity search and reports.

Locust monkey-patches the process with gevent, so it only ever runs in a child process
(``python -m eduops.loadtest.worker``); eduops reads its progress as JSON lines.
"""
