"""Operating a node: creating and upgrading the store, backup and restore, health,
the exit codes and storage-fault messages of the command line (docs/operations.md)."""
