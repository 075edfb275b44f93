"""`python -m pytask <TaskName>`: what the launcher runs inside the agent."""

import gc

from pytask.cli import main

if __name__ == "__main__":
    code = main()
    # The task is over and its output written. What is left is the interpreter collecting the
    # cycles of every object the Azure SDKs made, 0.1-0.2 s after every step (bench_release's
    # "exit"); frozen, they are not collected. atexit handlers and stream flushes still run.
    gc.freeze()
    raise SystemExit(code)
