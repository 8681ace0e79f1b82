"""Files: drives and sites, content and hashes, drive delta, downloads, uploads and drive routes."""
