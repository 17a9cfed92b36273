"""detach_ext: detach a volume from a server, as a compute API extension."""
