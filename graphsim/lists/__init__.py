"""SharePoint lists of the simulated sites: lists, columns, items with fields and versions, list item delta."""
