"""Mail: readers hear of replies to their comments, moderators of comments waiting for them.

A subscriber of the log (feed.py) turns events into rows of an outbox, in the transaction that
advances its checkpoint; a sender (worker.py) mails what is due, records each send, and retries
with backoff when the server fails. One worker runs per cluster (an advisory lock).
"""
