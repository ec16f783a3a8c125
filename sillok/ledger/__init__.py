"""The ledger (docs/ledger.md): the Merkle log, its entries, signed checkpoints."""
