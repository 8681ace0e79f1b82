"""SharePoint lists: a site's lists, their schemas and items, the `listitem` category of the SharePoint workload."""
