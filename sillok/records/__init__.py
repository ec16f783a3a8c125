"""The documentation itself: importing, reading, searching, counting, exporting records."""
