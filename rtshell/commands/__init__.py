"""The one grammar, the command registry, and command execution.

Importing the package registers every command (rtshell.commands.routes and
rtshell.commands.shell); everything that reads the registry (help,
completion, dispatch) imports it from here.
"""

from rtshell.commands import routes, shell  # noqa: F401  (they register the commands)
from rtshell.commands.executor import CommandError, Context, Executor, ExitShell
from rtshell.commands.grammar import Expect, HelpRequest, ParseError, Token, Walk, tokenize
from rtshell.commands.registry import REGISTRY, CommandSpec, Parsed, parse
from rtshell.commands.request import Request

__all__ = [
    "REGISTRY", "CommandError", "CommandSpec", "Context", "Executor", "ExitShell", "Expect",
    "HelpRequest", "ParseError", "Parsed", "Request", "Token", "Walk", "parse", "tokenize",
]
