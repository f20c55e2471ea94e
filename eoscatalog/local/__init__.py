"""This machine's state: settings, the hash cache, the shared blob cache and the files made from
it."""
