"""The file workloads: OneDrive (one per user) and SharePoint (one per site), both made of drives."""
