"""The compute database: Nova's tables that detach_ext reads, and its own."""
