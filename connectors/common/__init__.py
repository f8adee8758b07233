"""What every connector shares: the store, serialisation, errors."""
