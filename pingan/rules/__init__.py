"""Rules of the ticket's life, one module per mechanism."""
