"""Microsoft To Do of each mailbox user: task lists, tasks, checklist items, linked resources, file attachments."""
