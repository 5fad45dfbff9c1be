"""The contract's command line: ``flask --app app users|tokens|worker|demo|sweep`` (+ ``db`` from Flask-Migrate)."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

import workers
from inbox.auth import accounts
from inbox.auth import tokens as api_tokens
from inbox.db import session_scope
from models import Role, User

users = AppGroup("users", help="Manage users.")
tokens = AppGroup("tokens", help="Manage personal API tokens.")


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.AGENT.value, show_default=True)
@click.option("--password", required=True)
@click.option("--name", default="")
def create_user(email: str, role: str, password: str, name: str) -> None:
    """Create a user (or update the role, name and password of an existing one)."""
    if "@" not in email or len(email) > 254:
        raise click.BadParameter("not an email address", param_hint="EMAIL")
    if len(password) < 8:
        raise click.BadParameter("use at least 8 characters", param_hint="--password")
    with session_scope() as session:
        user = session.scalars(select(User).where(func.lower(User.email) == email.lower())).first()
        verb = "Updated" if user else "Created"
        user = user or User(email=email)
        user.role, user.name = role, name or user.name
        user.set_password(password)
        session.add(user)
    click.echo(f"{verb} {role} {email}")


def _user(session, email: str) -> User:
    user = accounts.find_user(session, email)
    if user is None:
        raise click.ClickException(f"no user {email}")
    return user


@users.command("deactivate")
@click.argument("email")
def deactivate_user(email: str) -> None:
    """No more logins for EMAIL: its sessions end and its API tokens stop working."""
    with session_scope() as session:
        accounts.deactivate(_user(session, email))
    click.echo(f"Deactivated {email}")


@users.command("activate")
@click.argument("email")
def activate_user(email: str) -> None:
    """Let a deactivated EMAIL log in (and its tokens work) again."""
    with session_scope() as session:
        accounts.activate(_user(session, email))
    click.echo(f"Activated {email}")


@users.command("set-password")
@click.argument("email")
@click.option("--password", required=True)
def set_password(email: str, password: str) -> None:
    """Set EMAIL's password; every session of EMAIL ends."""
    with session_scope() as session:
        try:
            accounts.set_password(_user(session, email), password)
        except accounts.AccountError as exc:
            raise click.BadParameter(exc.message, param_hint="--password") from None
    click.echo(f"Password set for {email}; their sessions have ended")


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="cli")
@click.option("--expires-days", type=click.IntRange(1, api_tokens.MAX_EXPIRY_DAYS), default=None,
              help="Stop working after this many days (default: never).")
def create_token(email: str, name: str, expires_days: int | None) -> None:
    """Print a new personal API token for EMAIL as the last line (shown once; only its hash is stored)."""
    with session_scope() as session:
        try:
            row, token = api_tokens.issue(session, _user(session, email), name, expires_days)
        except accounts.AccountError as exc:
            raise click.ClickException(exc.message) from None
        expires = f", expires {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else ""
    click.echo(f"API token {row.id} for {email}{expires} (store it now; it is not shown again):")
    click.echo(token)


def _when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


@tokens.command("list")
@click.argument("email", required=False)
def list_tokens(email: str | None) -> None:
    """List API tokens (everyone's, or EMAIL's): never the tokens themselves."""
    with session_scope() as session:
        rows = api_tokens.listed(session, _user(session, email) if email else None)
        click.echo("id\tuser\tname\tcreated\tlast used\texpires")
        for row in rows:
            expires = _when(row.expires_at) + (" (expired)" if row.expired() else "") if row.expires_at else "never"
            click.echo(f"{row.id}\t{row.user.email}\t{row.name or '-'}\t{_when(row.created_at)}\t"
                       f"{_when(row.last_used_at)}\t{expires}")


@tokens.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1))
def revoke_token(token_id: int) -> None:
    """Revoke the token with this id (see `tokens list`); it answers 401 from now on."""
    with session_scope() as session:
        row = api_tokens.revoke(session, token_id)
        if row is None:
            raise click.ClickException(f"no token {token_id}")
        owner = row.user.email
    click.echo(f"Revoked token {token_id} of {owner}")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Drain the queues and exit.")
@click.option("--no-cron", is_flag=True, help="Do not start the schedule (polls, sweep) beside the worker.")
@click.option("--heartbeat", type=click.IntRange(1), default=workers.HEARTBEAT_SECONDS, show_default=True,
              help="Seconds between heartbeats while a job runs; the sweep takes a silent worker for dead.")
def worker(burst: bool, no_cron: bool, heartbeat: int) -> None:
    """Run an RQ worker on every queue, with the scheduler (for retries with backoff).

    Unless --burst or --no-cron, a `flask cron` process runs beside it and stops with it.
    """
    import subprocess
    import sys

    from workers.sweep import requeue_stranded

    cron = None
    if not burst:
        click.echo(f"Requeued stranded work: {requeue_stranded()}")
        if not no_cron:
            cron = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "cron"])
    try:
        from inbox import netguard
        from inbox.rules import signals

        netguard.warm()     # inherited by every work horse instead of built per job
        signals.warm()      # the rules' language and sentiment models, likewise
        workers.make_worker(heartbeat).work(burst=burst, with_scheduler=True, logging_level="INFO")
    finally:
        if cron is not None:
            cron.terminate()
            cron.wait(timeout=10)


@click.command("cron")
def cron() -> None:
    """Run the schedule: poll every polled channel each minute, sweep stranded work."""
    from workers.cron import run

    run(workers.connection())


@click.command("sync")
@click.option("--channel", "channel_id", type=int, help="Only this channel.")
def sync(channel_id: int | None) -> None:
    """Queue a poll of every polled channel (or one) now; `flask worker --burst` then drains it."""
    from workers.poll import polled_channel_ids

    ids = polled_channel_ids()
    if channel_id is not None:
        if channel_id not in ids:
            raise click.ClickException(f"channel {channel_id} is not a polled, connected channel")
        ids = [channel_id]
    try:
        queued = [i for i in ids if workers.enqueue_poll(i) is not None]
    except workers.QUEUE_DOWN as exc:
        raise click.ClickException(f"the queue (Redis) is unreachable, nothing was queued: {exc}") from exc
    click.echo(f"Queued polls for {len(queued)} channel(s): {queued}")


@click.command("sweep")
def sweep() -> None:
    """Requeue webhook events, replies and channel setups whose jobs were lost; mark replies whose worker died
    mid-send as unknown."""
    from workers.sweep import requeue_stranded

    click.echo(requeue_stranded())


DEMO_USERS = [("admin@demo.test", Role.ADMIN, "demo-admin", "Ada Admin"),
              ("supervisor@demo.test", Role.SUPERVISOR, "demo-supervisor", "Sam Supervisor"),
              ("agent@demo.test", Role.AGENT, "demo-agent", "Alex Agent")]


@click.command("demo")
@click.option("--tickets", type=click.IntRange(1, 50_000_000), default=None,
              help="Instead: load a large generated data set of this many tickets (inbox/bulkdata.py) "
                   "into an EMPTY database (it refuses one that has tickets).")
@click.option("--seed", type=int, default=1, show_default=True, help="With --tickets: the random seed.")
@click.pass_context
def demo(ctx: click.Context, tickets: int | None, seed: int) -> None:
    """Create the demo users and say how to connect demo channels.

    Channels and traffic come from the provider sandboxes, a separate program the inbox knows
    nothing about: ``make run`` starts it and seeds through our public paths (CLI, API, webhooks).
    With ``--tickets N``: a large realistic data set written in bulk, to try the product at scale.
    """
    if tickets:
        from inbox import bulkdata
        from inbox.db import engine

        click.echo(f"Loading {tickets:,} tickets into {engine().dialect.name} ...")
        try:
            report = bulkdata.generate(engine(), tickets, seed=seed, echo=click.echo)
        except bulkdata.RefuseError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(bulkdata.summary(report))
        click.echo(f"Logins (password {bulkdata.PASSWORD!r} for all): "
                   + ", ".join(f"{email} ({role})" for email, role in report.logins))
        return
    for email, role, password, name in DEMO_USERS:
        ctx.invoke(create_user, email=email, role=role.value, password=password, name=name)
    click.echo("Demo users are ready. To add demo channels and traffic, serve the sandboxes and seed them:\n"
               "  python -m sandbox --port 5001 --demo &\n"
               "  python -m sandbox seed --inbox http://127.0.0.1:5000 --sandbox http://127.0.0.1:5001\n"
               "(`make run` does all of this when INBOX_DEMO=1.)")


def init_app(app: Flask) -> None:
    for command in (users, tokens, worker, cron, sync, sweep, demo):
        app.cli.add_command(command)
