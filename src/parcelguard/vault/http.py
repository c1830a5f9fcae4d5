"""The process's vault for HTTP handlers; the app factory chooses its KMS."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from parcelguard.vault.service import VaultService


def vault_dep(request: Request) -> VaultService:
    vault: VaultService = request.app.state.vault
    return vault


VaultDep = Annotated[VaultService, Depends(vault_dep)]
