"""The Testinfra suite of a deployed host (`hymt verify` runs it through the inventory and folds its results in)."""
