"""The red-team suite: each test is an attack, and asserts that it fails (docs/threat-model.md)."""
