"""Reference geography: the NCDD gazetteer of provinces, districts, communes, villages, checkpoints."""
