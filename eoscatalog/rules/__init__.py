"""Pure decisions over the index: what a write plans, which version a reference means, who may
write where, how a prefix lists, which versions retention prunes."""
