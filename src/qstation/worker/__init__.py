"""Workers: claim jobs from the store and run each execution in a disposable child process."""
