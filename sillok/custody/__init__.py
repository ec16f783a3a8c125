"""What is done to an archive as a whole: users, protection, proofs, verification, backups."""
