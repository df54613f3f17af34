"""Jobs: a persistent queue of URLs per case, and a runner that captures them in parallel."""
