"""Request and response models. Each inherits its resource's `XBase` from `db.models`."""
