"""User-facing errors: one line saying what is wrong and how to fix it."""


class UserError(Exception):
    """A problem with the user's input (path, config, data), not a bug.

    Command-line entry points catch it, print ``error: <message>`` on one line
    and exit with status 2, without a traceback.
    """


EXIT_USAGE = 2


def run_cli(command, args, interrupted: str = "interrupted") -> int:
    """Run ``command(args)`` for a command line: a UserError becomes one ``error:`` line
    on stderr and exit status 2; Ctrl-C prints ``interrupted`` and exits 130."""
    import sys

    try:
        return command(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
