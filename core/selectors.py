"""Which users, sites and libraries a backup covers (BACKUP_INCLUDE_* / BACKUP_EXCLUDE_*, or the CLI's flags)."""

from __future__ import annotations

from dataclasses import dataclass

from core.config import Settings


def _norm_url(url: str) -> str:
    return url.strip().rstrip("/").lower()


@dataclass(frozen=True)
class Selectors:
    include_users: tuple[str, ...] = ()
    exclude_users: tuple[str, ...] = ()
    include_sites: tuple[str, ...] = ()
    exclude_sites: tuple[str, ...] = ()
    exclude_libraries: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> Selectors:
        return cls(
            settings.include_users,
            settings.exclude_users,
            settings.include_sites,
            settings.exclude_sites,
            settings.exclude_libraries,
        )

    def user(self, user: dict) -> bool:
        """By id, user principal name or mail, case-insensitively; exclusion wins."""
        names = {str(user.get(k) or "").lower() for k in ("id", "userPrincipalName", "mail")} - {""}
        if names & {u.lower() for u in self.exclude_users}:
            return False
        return not self.include_users or bool(names & {u.lower() for u in self.include_users})

    def site(self, web_url: str) -> bool:
        """By URL prefix at path boundaries (a site and its subsites); exclusion wins."""
        url = _norm_url(web_url)

        def under(prefix: str) -> bool:
            p = _norm_url(prefix)
            return url == p or url.startswith(p + "/")

        if any(under(p) for p in self.exclude_sites):
            return False
        return not self.include_sites or any(under(p) for p in self.include_sites)

    def library(self, name: str) -> bool:
        return name.strip().lower() not in {n.strip().lower() for n in self.exclude_libraries}
