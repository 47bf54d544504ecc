"""Errors of the safe's cryptography; their messages may reach the user."""


class TamperedError(Exception):
    """Ciphertext that fails authentication: altered, truncated, or not ours."""

    def __init__(self, message: str = "Ce document est altéré : son contenu ne correspond plus à ce qui a été déposé."):
        super().__init__(message)


class KeyUnavailableError(Exception):
    """The key-encryption key a wrapped key names is not in the keyring."""

    def __init__(self, kek_id: str, *, destroyed: bool = False):
        self.kek_id = kek_id
        self.destroyed = destroyed
        if destroyed:
            message = "La clé qui protégeait ce document a été détruite : il ne peut plus être ouvert."
        else:
            message = "La clé qui protège ce document est introuvable sur ce serveur : il ne peut pas être ouvert."
        super().__init__(message)


class KeyringError(Exception):
    """The keyring itself is missing, unreadable, or refuses the operation."""
