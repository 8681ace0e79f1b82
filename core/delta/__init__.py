"""The one delta engine, shared by every category that is backed up through Graph delta queries (mail, contacts,
events in Outlook containers; files and folders in drives):

- `rounds.py`: follows one delta round, page by page, to its delta link (the only code that reads the delta
  annotations), handing each page to the caller;
- `containers.py`: the neutral `Container` (a mail folder, a contact folder, a calendar, a drive);
- `content.py`: the one path that stores an item's content and counts it (new bytes, or deduplicated);
- `lifecycle.py`: a category's container lifecycle for one resource (record the containers, a round per container,
  held items retried by id, vanished containers ended, the writer flushed, each link saved last), driven through a
  `KindAdapter` that each category implements (core/workloads/container_folders.py for Outlook,
  core/workloads/files/drives.py for drives)."""
