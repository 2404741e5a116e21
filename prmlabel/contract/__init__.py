"""The data contract every stage honours: Arrow schemas of each stage's rows (``schema``), the shard
store with atomic writes, completion records, resume and rejects (``store``), and the composed,
fingerprinted config a folder is frozen to (``config``). Knows nothing of algorithms or backends."""
