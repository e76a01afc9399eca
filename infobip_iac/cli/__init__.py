"""The command line: thin; each command parses its arguments and calls one function."""
