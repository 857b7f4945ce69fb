"""Which queued job runs next: the fair-share policy, apart from the store that applies it."""
