"""Moving many files: eos sync (plan, then act), eos cp, and plain s3:// and https:// sources."""
