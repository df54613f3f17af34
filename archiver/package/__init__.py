"""Package: what leaves the tool — signed WACZ files and evidence bundles."""
