"""Roster import: the .xlsx template, all-or-nothing validation and the import itself."""
