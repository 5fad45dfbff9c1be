"""Accounts: finding a user for a login, passwords, deactivation; shared by the pages and the CLI.

Every change that must lock someone out (a new password, deactivation, logging out) also ends the
user's sessions (``User.end_sessions``), so a copied session or "remember me" cookie stops working
everywhere, not only in the browser that asked.
"""
from __future__ import annotations

from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from models import User

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024   # hashing megabytes per attempt would be a cheap way to load the server


class AccountError(Exception):
    """A refused account change, with a message to show inline."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class WrongPassword(AccountError):
    """The current password given to confirm a change is wrong (counted by the login throttle)."""


def find_user(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.email) == email.strip().lower())).first()


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-password-of-anyone")


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None.

    An unknown or deactivated account still costs one password check (against a dummy hash), so
    the answer's timing does not tell which e-mails have accounts.
    """
    user = find_user(session, email) if len(email) <= 254 else None
    if user is None or not user.active or len(password) > MAX_PASSWORD_LENGTH:
        check_password_hash(_dummy_hash(), password[:MAX_PASSWORD_LENGTH])
        return None
    return user if user.check_password(password) else None


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"Use at most {MAX_PASSWORD_LENGTH} characters.")


def set_password(user: User, password: str) -> None:
    """A new password, and every existing session of the user ends."""
    validate_password(password)
    user.set_password(password)
    user.end_sessions()


def change_password(user: User, current: str, new: str, repeated: str) -> None:
    """The logged-in user's own change: the current password proves it is them."""
    if not user.check_password(current[:MAX_PASSWORD_LENGTH]):
        raise WrongPassword("The current password is wrong.")
    if new != repeated:
        raise AccountError("The new passwords do not match.")
    set_password(user, new)


def deactivate(user: User, by: User | None = None) -> None:
    """No more logins, sessions or API tokens for ``user`` (its data stays). ``by``: the admin asking."""
    if by is not None and by.id == user.id:
        raise AccountError("You cannot deactivate your own account.")
    user.active = False
    user.end_sessions()


def activate(user: User) -> None:
    user.active = True
