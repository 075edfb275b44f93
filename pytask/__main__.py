"""`python -m pytask <TaskName>`: what the launcher runs inside the agent."""

from pytask.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
