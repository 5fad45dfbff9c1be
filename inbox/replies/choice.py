"""The composer's choice among a custom channel's reply actions, read from its form: shared by the
reply route and the suggest route (``inbox.approval.views``), which post the same composer."""
from __future__ import annotations

import json


def custom_choice(form) -> dict:
    """The composer's choice of a custom channel's reply action: ``action_id``, the option and the
    template chosen for that action (fields are named after the action, so that only the chosen
    action's fields count)."""
    action_id = form.get("action_id") or None
    if action_id is None:
        return {}
    choice: dict = {"action_id": action_id}
    if form.get(f"option:{action_id}"):
        choice["option"] = form[f"option:{action_id}"]
    if form.get(f"template:{action_id}"):
        try:
            picked = json.loads(form[f"template:{action_id}"])
        except ValueError:
            picked = {}
        if isinstance(picked, dict) and isinstance(picked.get("networkId"), str):
            prefix = f"var:{action_id}:{picked['networkId']}:"
            choice["template"] = {"networkId": picked["networkId"], "name": picked.get("name"),
                                  "language": form.get(f"language:{action_id}") or "en",
                                  "variables": {k[len(prefix):]: v for k, v in form.items() if k.startswith(prefix)}}
    return choice
