"""The HTTP side: middleware, router, handlers, fault bodies."""
