"""The customer's key: the port every key-encryption key (KEK) provider implements (`port.py`), a local key file for
the demo and tests (`local_provider.py`), Azure Key Vault (`keyvault_provider.py`), the wrapped data and naming keys
kept write-once in the content container (`keyring.py`), the choice from the settings (`from_settings.py`) and the
`keys status` / `keys rotate` commands (`keys_cli.py`). The content format itself is core/storage/blob_format.py."""
