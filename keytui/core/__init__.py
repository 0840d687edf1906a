"""The domain and its AWS calls: models, errors, inventory, profiles. No Textual, no keyring here."""
