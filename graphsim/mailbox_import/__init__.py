"""The mailbox import and export APIs (`/beta/admin/exchange/mailboxes/{id}/...`) on in-place archives."""
