"""Process-level plumbing below everything else: the time- and memory-limited worker pool that every
verifier and answer-checker call runs in (``limits``), and seed derivation (``seeds``)."""
