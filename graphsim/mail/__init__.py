"""Mail: mailboxes, messages and their MIME, message creation, attachments, message delta and mail routes."""
