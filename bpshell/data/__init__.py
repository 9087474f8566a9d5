"""Data files shipped with bpshell (see README.md here for their sources and licences)."""
