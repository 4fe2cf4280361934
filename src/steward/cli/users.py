"""``steward users`` and ``steward tokens``: work on the configured store directly."""

from __future__ import annotations

from typing import Annotated

import typer

from steward.auth import service
from steward.cli import context
from steward.cli.output import console, emit_json, handle_errors, table

users_app = typer.Typer(help="Users and service accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)


@users_app.command("create")
@handle_errors
def create_user(
    name: str,
    role: Annotated[str, typer.Option(help="Admin, Engineer, 'Compliance Officer', Auditor or Viewer.")],
    password: Annotated[str | None, typer.Option(help="Password for web login (users only).")] = None,
    service_account: Annotated[bool, typer.Option("--service", help="A service account (tokens only).")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a user or service account."""
    with context.runtime().uow() as uow:
        user = service.create_user(uow, name, role, password=password, kind="service" if service_account else "user")
        uow.commit()
    if as_json:
        emit_json(user.__dict__)
    else:
        console.print(f"Created {user.kind} [bold]{user.name}[/] with role {user.role}.")


@users_app.command("list")
@handle_errors
def list_users(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    with context.runtime().uow() as uow:
        users = service.list_users(uow)
    if as_json:
        emit_json([u.__dict__ for u in users])
    else:
        table(
            "Users",
            ["name", "kind", "role", "disabled"],
            [(u.name, u.kind, u.role, u.disabled) for u in users],
        )


@tokens_app.command("create")
@handle_errors
def create_token(
    user: Annotated[str, typer.Option(help="Whose token it is.")],
    name: Annotated[str, typer.Option(help="A label for the token.")] = "",
    ttl_days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Issue an API token; it is printed once and stored only as a hash."""
    with context.runtime().uow() as uow:
        token = service.create_token(uow, user, name=name, ttl_days=ttl_days)
        uow.commit()
    if as_json:
        emit_json({"user": user, "token": token})
    else:
        typer.echo(token)
