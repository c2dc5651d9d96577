"""Alert delivery: where an alert goes once it fires or resolves (docs/alerts.md "Webhooks").

``payloads`` is pure (an alert change -> the JSON each receiver expects);
``webhooks`` is the I/O at the edge: queues, timeouts, retries, never in the tick.
"""
