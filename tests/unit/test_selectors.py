from core.config import load_settings
from core.selectors import Selectors

BASE = {
    "GRAPH_TENANT_ID": "t",
    "GRAPH_CLIENT_ID": "c",
    "GRAPH_CLIENT_SECRET": "s",
    "BACKUP_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true",
}
ADELE = {"id": "11111111-aaaa", "userPrincipalName": "Adele@contoso.com", "mail": "adele@contoso.com"}
BOB = {"id": "22222222-bbbb", "userPrincipalName": "bob@contoso.com", "mail": None}


def test_everyone_by_default():
    selectors = Selectors.from_settings(load_settings(BASE))
    assert selectors.user(ADELE) and selectors.user(BOB)
    assert selectors.site("https://contoso.sharepoint.com/sites/hr") and selectors.library("Documents")


def test_users_by_id_or_upn_case_insensitively_and_exclusion_wins():
    selectors = Selectors.from_settings(
        load_settings(
            {
                **BASE,
                "BACKUP_INCLUDE_USERS": "adele@CONTOSO.com, 22222222-bbbb",
                "BACKUP_EXCLUDE_USERS": "bob@contoso.com",
            }
        )
    )
    assert selectors.user(ADELE)
    assert not selectors.user(BOB)  # included by id, excluded by UPN: excluded


def test_sites_by_url_prefix_at_path_boundaries():
    selectors = Selectors(include_sites=("https://contoso.sharepoint.com/sites/hr/",), exclude_sites=(
        "https://contoso.sharepoint.com/sites/hr/private",))  # fmt: skip
    assert selectors.site("https://contoso.sharepoint.com/sites/hr")
    assert selectors.site("https://contoso.sharepoint.com/sites/hr/benefits")
    assert not selectors.site("https://contoso.sharepoint.com/sites/hrx")  # a prefix, not a path: not included
    assert not selectors.site("https://contoso.sharepoint.com/sites/hr/private/payroll")


def test_libraries_by_name():
    selectors = Selectors(exclude_libraries=("Preservation Hold Library",))
    assert not selectors.library("preservation hold library")
    assert selectors.library("Documents")
