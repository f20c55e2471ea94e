"""What analyses use: File and its remote types, links, temporary paths, and the eos:// fsspec
filesystem."""
