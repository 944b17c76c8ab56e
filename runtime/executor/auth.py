"""Bearer-token auth for the trading endpoints: two scopes, constant-time comparison.

Tokens come from the Secrets port: `admin-token` (admin scope, which includes read) and
`read-token` (read scope). A missing or wrong token is 401; a read token on an admin
endpoint is 403. Tokens are read once per TokenAuth (rotate by restarting the revision).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request

from shared.ports import Secrets

log = logging.getLogger("tradewinds.executor.auth")
ADMIN, READ = "admin", "read"


@dataclass(frozen=True)
class Principal:
    scope: str

    @property
    def name(self) -> str:
        return f"api:{self.scope}"


class TokenAuth:
    def __init__(self, secrets: Secrets, admin_secret: str = "admin-token", read_secret: str = "read-token"):
        self._tokens: list[tuple[bytes, str]] = []
        for name, scope in ((admin_secret, ADMIN), (read_secret, READ)):
            try:
                value = secrets.get(name)
            except KeyError:
                log.warning("token secret missing: that scope cannot authenticate", extra={"secret": name})
                continue
            if value:
                self._tokens.append((value.encode(), scope))

    def identify(self, header: str | None) -> Principal | None:
        if not header or not header.startswith("Bearer "):
            return None
        presented = header[len("Bearer "):].strip().encode()
        found = None
        for token, scope in self._tokens:  # compare against every token: no early exit
            if hmac.compare_digest(presented, token) and found is None:
                found = Principal(scope)
        return found

    def require(self, scope: str) -> Callable[[Request], Principal]:
        def dependency(request: Request) -> Principal:
            principal = self.identify(request.headers.get("authorization"))
            if principal is None:
                raise HTTPException(401, "missing or invalid bearer token",
                                    headers={"WWW-Authenticate": "Bearer"})
            if scope == ADMIN and principal.scope != ADMIN:
                raise HTTPException(403, "this endpoint needs the admin scope")
            return principal

        return dependency
