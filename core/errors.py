"""The exception tree, drawn once. Lower layers raise these; upper layers map them (to HTTP status, to retry
decisions, to a failed item in a run report). Nothing outside core/ defines its own backup exceptions.

    BackupError
    ├── ConfigError                 a setting is missing or malformed
    ├── GraphError                  Microsoft Graph answered with an error (status, code, url)
    │   ├── GraphAuthError          no token could be had, or Graph answered 401/403
    │   ├── GraphNotFound           404: the resource or item is gone
    │   ├── GraphConflict           409: the target already exists (restore conflicts)
    │   ├── DeltaExpired            410 / syncStateNotFound / resyncRequired: the delta link is no longer usable
    │   ├── GraphThrottled          429/503 still answered after every attempt
    │   ├── GraphServerError        5xx still answered after every attempt
    │   ├── GraphTransportError     the connection failed after every attempt
    │   ├── GraphRedirectRefused    a redirect Graph answered that is not followed (another origin, too many hops)
    │   ├── GraphAmbiguousWrite     a write whose outcome is unknown (reset, timeout, 5xx after it was sent):
    │   │                           never sent again blindly; the caller finds out whether it happened
    │   └── MalformedResponse       a page or body that does not follow the Graph schema
    ├── StorageError                Azure Storage refused or failed an operation
    │   ├── ContentIntegrityError   stored content does not hash to its address, or fails authentication (AES-GCM)
    │   └── ContentKeyError         a content key cannot be had: wrong key, a KEK version gone, access refused
    ├── NotFoundError               an unknown run, resource, item, folder or restore job was asked for
    ├── InvalidRequestError         a request (restore, listing) that cannot be carried out as asked
    ├── AlreadyRunningError         a backup run is already pending or running (one at a time)
    ├── LegalHoldError              a resource on legal hold would be removed (an erasure is refused)
    ├── AuthenticationError         no valid Entra ID bearer token: missing, malformed, badly signed, expired (401)
    └── PermissionDeniedError       a valid caller whose roles or ownership do not allow the request (403)

HTTP mapping (api/problems.py): NotFoundError 404, InvalidRequestError 400 (422 for schema violations),
AlreadyRunningError and LegalHoldError 409, AuthenticationError 401, PermissionDeniedError 403, StorageError and
GraphError 502/503.
"""

from __future__ import annotations


class BackupError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigError(BackupError):
    pass


class GraphError(BackupError):
    def __init__(
        self, message: str, *, status: int | None = None, code: str = "", url: str = "", location: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.url = url
        self.location = location  # a Location header Graph sent with the error (drive resync: a fresh start URL)

    def __str__(self) -> str:
        parts = [super().__str__()]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.url:
            parts.append(f"url={self.url}")
        return " ".join(parts)


class GraphAuthError(GraphError):
    pass


class GraphNotFound(GraphError):
    pass


class GraphConflict(GraphError):
    pass


class DeltaExpired(GraphError):
    pass


class GraphThrottled(GraphError):
    pass


class GraphRedirectRefused(GraphError):
    """A 307/308 not followed: its Location is on another origin than the Graph endpoint (credentials are never
    sent there), or it is one hop too many."""


class GraphServerError(GraphError):
    pass


class GraphTransportError(GraphError):
    pass


class GraphAmbiguousWrite(GraphError):
    """A request that is not safe to replay (a create) failed after it may have reached Graph: a connection lost
    after it was sent, a timeout, or 500/502/504. Whether it took effect is unknown."""


class MalformedResponse(GraphError):
    pass


class StorageError(BackupError):
    pass


class ContentIntegrityError(StorageError):
    pass


class ContentKeyError(StorageError):
    """A data or naming key cannot be unwrapped (wrong key-encryption key, a version removed, Key Vault refused or
    the key is gone): the message names the key id and the KEK version."""


class NotFoundError(BackupError):
    pass


class InvalidRequestError(BackupError):
    pass


class AlreadyRunningError(BackupError):
    pass


class LegalHoldError(BackupError):
    """Removal refused: a resource it would reach is on legal hold (core/lifecycle/holds.py)."""


class AuthenticationError(BackupError):
    pass


class PermissionDeniedError(BackupError):
    pass
