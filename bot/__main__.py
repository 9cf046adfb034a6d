"""`python -m bot ...` is the `learnloop` command (child processes start it this way)."""

from bot.main import main

main()
