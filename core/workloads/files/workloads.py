"""The file workloads: OneDrive, one resource per user ('onedrive:<user id>', its one drive), and SharePoint, one
resource per site ('sharepoint:<site id>', every document library of the site). Both hold files.

Restore requests recorded before file restores named their category said 'mail' for files: read as 'file'."""

from __future__ import annotations

from core.workloads.base import Workload
from core.workloads.exchange.mail_backup import MAIL
from core.workloads.files.file import FILE_CATEGORY
from core.workloads.files.onedrive import OneDriveHandler
from core.workloads.files.sharepoint import SharePointHandler
from core.workloads.lists.list_items import LIST_ITEM_CATEGORY

ONEDRIVE = Workload(
    name=OneDriveHandler.name,
    handler=OneDriveHandler(),
    categories=(FILE_CATEGORY,),
    owner_path="users/{}",
    owner_noun="user",
    target_path="users/{}/drive",
    target_noun="OneDrive of user",
    self_service=True,
    aliases={MAIL: FILE_CATEGORY.name},
)

SHAREPOINT = Workload(
    name=SharePointHandler.name,
    handler=SharePointHandler(),
    categories=(FILE_CATEGORY, LIST_ITEM_CATEGORY),  # files stay the default
    owner_path="sites/{}",
    owner_noun="site",
    target_path="sites/{}",
    target_noun="site",
    path_safe=",",  # a site id is 'host,site guid,web guid'
    aliases={MAIL: FILE_CATEGORY.name},
)
